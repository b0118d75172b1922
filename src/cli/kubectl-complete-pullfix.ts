#!/usr/bin/env node
// `kubectl pullfix <TAB>`: kubectl (1.26 and later) completes a plugin's arguments by running an
// executable named kubectl_complete-<name> found on PATH with the words typed after the plugin
// name, and reads a cobra-style answer (candidates, then `:DIRECTIVE`): `pullfix __complete`.
process.argv.splice(2, 0, '__complete');
await import('./main.js');
