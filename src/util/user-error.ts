// The base of every error a user can act on lives in the engine, the innermost layer, so that
// every layer (the engine's ConfigError included) can extend it; this path keeps working.
export { UserError } from '../engine/user-error.js';
