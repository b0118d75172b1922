import { parse, YAMLParseError } from 'yaml';
import { compileConfig } from '../engine/config.js';
import { createEngine } from '../engine/mutate.js';
import { resolveNamespacePolicy } from '../engine/namespace-policy.js';
import type { PullfixConfig } from '../engine/types.js';
import { formatFinding, type PolicyOrigin } from '../fix/findings.js';
import { formatDiagnostic } from '../fix/fix-error.js';
import { fixInput, placeAt } from '../fix/fix-manifest.js';
import { fixObjects, type DocumentOp } from '../fix/fix-objects.js';
import { locateObjects } from '../fix/locate-objects.js';
import { STDIN_NAME } from '../fix/read-inputs.js';
import { configFromFunctionConfig } from './function-config.js';
import { KrmError } from './krm-error.js';
import { renderResourceList, type ItemEdit } from './render-resource-list.js';
import { parseResourceList } from './resource-list.js';
import { resultsFor, type KrmResult } from './results.js';

export interface KrmOutput {
  /** What goes to stdout. */
  output: string;
  /** What goes to stderr (the exec-plugin form has no results field to carry it). */
  diagnostics: string;
}

/** Class policies come from the function's configuration: results say so, naming the field. */
function originIn(config: PullfixConfig, where: string): PolicyOrigin {
  return (cls) => (config.policies[cls] === undefined ? undefined : `${where} policies.${cls}: ${config.policies[cls]}`);
}

/**
 * The KRM function: a ResourceList in, the same ResourceList out with its workloads fixed and
 * a result per change or problem. Render time is manifest time (SPEC §7): nothing has been
 * defaulted, so a written imagePullPolicy is explicit, and no namespace labels are known,
 * so the functionConfig's mode and class policies decide.
 */
export function runKrm(input: string): KrmOutput {
  const list = parseResourceList(input);
  const raw = configFromFunctionConfig(list.functionConfig);
  const config = compileConfig(raw);
  const origin = originIn(raw, 'functionConfig');
  const engine = createEngine(config);
  const policy = resolveNamespacePolicy(config, undefined);
  const edits: ItemEdit[] = [];
  const results: KrmResult[] = [];
  for (const item of list.items) {
    // An item may be a List (`kind: List`, `DeploymentList`): its objects are fixed as `fix`
    // fixes them, each edited in place inside the item.
    let mutated: unknown = item.value;
    const ops: DocumentOp[] = [];
    for (const fix of fixObjects(engine, policy, locateObjects([item.value]))) {
      results.push(...resultsFor(fix.object.value, fix.result, fix.podSpecPath, origin, item.value));
      if (fix.ops.length === 0) continue;
      ops.push(...fix.ops.map((op) => ({ ...op, path: ['items', String(item.index), ...op.path] })));
      if (mutated === item.value && fix.object.path.length > 0) mutated = structuredClone(item.value);
      mutated = placeAt(mutated, fix.object.path, fix.result.mutated);
    }
    if (ops.length > 0) edits.push({ index: item.index, ops, mutated });
  }
  return { output: renderResourceList(list, edits, results), diagnostics: '' };
}

/**
 * kustomize's exec-plugin form, for `kubectl kustomize`, which runs exec plugins but not exec
 * KRM functions (it has no --enable-exec): the plugin's config file is the argument and the
 * resources come as a YAML stream on stdin. The config file is a functionConfig as above; the
 * stream is fixed exactly as `pullfix fix` fixes a manifest.
 */
export function runExecPlugin(configFile: string, configText: string, input: string): KrmOutput {
  let raw: unknown;
  try {
    raw = parse(configText);
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      const message = (err.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      throw new KrmError(`${configFile}:${pos?.line ?? 1}:${pos?.col ?? 1}: invalid YAML: ${message}`);
    }
    throw err;
  }
  const fileConfig = configFromFunctionConfig(raw);
  const config = compileConfig(fileConfig);
  const outcome = fixInput(
    { name: STDIN_NAME, text: input },
    { engine: createEngine(config), policy: resolveNamespacePolicy(config, undefined), origin: originIn(fileConfig, `${configFile}:`) },
  );
  if (!outcome.ok) {
    const first = outcome.diagnostics[0];
    throw new KrmError(first ? formatDiagnostic(first) : 'invalid input');
  }
  const { fixed } = outcome;
  const left = fixed.findings.filter((f) => !f.fixed).map((f) => `pullfix: ${formatFinding(f)}\n`);
  return { output: fixed.text, diagnostics: left.join('') };
}
