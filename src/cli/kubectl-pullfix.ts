#!/usr/bin/env node
// `kubectl pullfix ...`: kubectl runs an executable named kubectl-<name> found on PATH as the
// plugin `kubectl <name>`, passing the remaining arguments. This is the same CLI as `pullfix`.
import './main.js';
