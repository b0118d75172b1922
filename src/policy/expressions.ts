// The CEL of the policy: variables that read the namespace policy and locate the pod spec, and
// the JSON patch that sets each image's pull policy (SPEC §3, §4 as far as CEL can see).

import { globToRegExp } from '../engine/glob.js';
import { LABEL_PREFIX, MODE_LABEL, MUTABLE_TAGS_ANNOTATION } from '../engine/namespace-policy.js';
import { LAST_APPLIED_ANNOTATION } from '../engine/explicit.js';
import { ENTRY_FIELDS, IMAGE_CLASSES, PULL_POLICIES, type ContainerList, type PullfixConfig } from '../engine/types.js';
import { bind, celString, celStringList, jsonPointer, optionalPath } from './cel.js';
import { imageInfo } from './image-class-cel.js';
import type { HandledKind } from './match.js';
import { anchored } from './tag-pattern.js';

export interface NamedExpression {
  name: string;
  expression: string;
}

const KIND_KEY = `request.kind.group + '/' + request.kind.kind`;
const EPHEMERAL = `request.?subResource.orValue('') == 'ephemeralcontainers'`;
/** The lists whose entries pull an image; ephemeral containers only through their subresource. */
const TEMPLATE_LISTS: readonly ContainerList[] = ['containers', 'initContainers', 'volumes'];
const ALL_LISTS: readonly ContainerList[] = [...TEMPLATE_LISTS, 'ephemeralContainers'];

/** Kinds grouped by where their pod spec is, so each path appears once in the CEL. */
function byPath(kinds: readonly HandledKind[]): [readonly string[], string[]][] {
  const groups = new Map<string, [readonly string[], string[]]>();
  for (const k of kinds) {
    const id = JSON.stringify(k.rule.podSpecPath);
    const group = groups.get(id) ?? [k.rule.podSpecPath, []];
    group[1].push(k.key);
    groups.set(id, group);
  }
  return [...groups.values()];
}

/** `EPHEMERAL ? pick(['spec']) : key in [...] ? pick(path) : ... : otherwise`. */
function perKind(kinds: readonly HandledKind[], pick: (path: readonly string[]) => string, otherwise: string): string {
  let expr = otherwise;
  for (const [path, keys] of byPath(kinds).reverse()) expr = `${KIND_KEY} in ${celStringList(keys)} ? ${pick(path)} : ${expr}`;
  return `${EPHEMERAL} ? ${pick(['spec'])} : ${expr}`;
}

function labelValue(key: string): string {
  return `namespaceObject.metadata.?labels[?${celString(key)}].orValue('')`;
}

/** A namespace label over the config value; a value that is not one of `allowed` is ignored. */
function labelOver(key: string, allowed: readonly string[], configValue: string): string {
  return bind('v', labelValue(key), `v in ${celStringList(allowed)} ? v : ${celString(configValue)}`);
}

function exemptPattern(globs: readonly string[]): string | undefined {
  if (globs.length === 0) return undefined;
  return globs.map((g) => `(?:${globToRegExp(g).source})`).join('|');
}

function imageOf(list: ContainerList, entry: string): string {
  return `${optionalPath(entry, ENTRY_FIELDS[list].image)}.orValue('')`;
}

function policyOf(list: ContainerList, entry: string): string {
  return `${optionalPath(entry, ENTRY_FIELDS[list].pullPolicy)}.orValue('')`;
}

function listOf(spec: string, list: ContainerList): string {
  return `${spec}.?${list}.orValue([])`;
}

export function variables(config: PullfixConfig, kinds: readonly HandledKind[]): NamedExpression[] {
  const classPolicies = IMAGE_CLASSES.map(
    (cls) => `${celString(cls)}: ${labelOver(LABEL_PREFIX + cls, PULL_POLICIES, config.policies[cls] ?? '')}`,
  );
  const annotation = `namespaceObject.metadata.?annotations[?${celString(MUTABLE_TAGS_ANNOTATION)}]`;
  const fieldPath = (path: readonly string[]): string[] => path.map((s) => `f:${s}`);
  const imagesIn = (spec: string): string[] => ALL_LISTS.map((list) => `${listOf(spec, list)}.map(e, ${imageOf(list, 'e')})`);
  return [
    { name: 'specPath', expression: perKind(kinds, (path) => celString(jsonPointer(path)), "''") },
    { name: 'spec', expression: `(${perKind(kinds, (path) => optionalPath('object', path), 'optional.none()')}).orValue({})` },
    {
      name: 'oldSpec',
      expression: `oldObject == null ? {} : (${perKind(kinds, (path) => optionalPath('oldObject', path), 'optional.none()')}).orValue({})`,
    },
    {
      // What server-side apply records about the pod spec, one entry per Apply manager.
      name: 'appliedSpecs',
      expression:
        `object.metadata.?managedFields.orValue([]).filter(m, m.?operation.orValue('') == 'Apply' && has(m.fieldsV1))` +
        `.map(m, ${perKind(kinds, (path) => optionalPath('m.fieldsV1', fieldPath(path)), 'optional.none()')})`,
    },
    { name: 'mode', expression: labelOver(MODE_LABEL, ['default', 'enforce'], config.mode) },
    { name: 'policies', expression: `{${classPolicies.join(', ')}}` },
    {
      // The namespace's pattern replaces the config's (anchored, as the engine matches it).
      name: 'tagPattern',
      expression: bind(
        'a',
        annotation,
        `a.hasValue() ? '^(?:' + a.value() + ')$' : ${celString(anchored(config.mutableTags))}`,
      ),
    },
    {
      name: 'lastApplied',
      expression: `object.metadata.?annotations[?${celString(LAST_APPLIED_ANNOTATION)}].hasValue()`,
    },
    { name: 'images', expression: `(${[...imagesIn('variables.spec'), ...imagesIn('variables.oldSpec')].join(' + ')}).distinct()` },
    {
      // Class and API-server default of every image in the request, parsed once each.
      name: 'imageInfo',
      expression: `variables.images.transformMapEntry(i, img, {img: ${imageInfo('img', 'variables.tagPattern')}})`,
    },
  ];
}

/**
 * SPEC §4's explicitness test for one entry, the rules CEL can see: 2 (an Apply manager owns
 * the field), 3 (changed in this update), 5 (the object has a
 * last-applied configuration, which a match condition has made sure leaves the field out),
 * 6 (the image changed and the value was the old image's default) and 7 (not the default).
 */
function explicit(list: ContainerList, entry: string, current: string, info: string): string {
  const key = `${celString('k:{"name":"')} + ${entry}.?name.orValue('') + ${celString('"}')}`;
  const owned = `s[?${celString(`f:${list}`)}][?${key}]`;
  const ownsField = optionalPath(owned, ENTRY_FIELDS[list].pullPolicy.map((f) => `f:${f}`));
  const old = 'olds[0]';
  return (
    `${current} == '' ? false` +
    ` : variables.appliedSpecs.exists(s, ${ownsField}.hasValue()) ? true` +
    ` : ${bind(
      'olds',
      `${listOf('variables.oldSpec', list)}.filter(o, o.?name.orValue('') == ${entry}.?name.orValue(''))`,
      `size(olds) > 0 && ${policyOf(list, old)} != ${current} ? true` +
        ` : variables.lastApplied ? false` +
        ` : size(olds) > 0 && ${imageOf(list, old)} != ${imageOf(list, entry)} ? ${current} != variables.imageInfo[${imageOf(list, old)}][1]` +
        ` : ${current} != ${info}[1]`,
    )}`
  );
}

/** SPEC §4's precedence (no stray value: the policy cannot see one) for one entry; '' for none. */
function target(config: PullfixConfig, list: ContainerList, entry: string): string {
  const image = imageOf(list, entry);
  const current = policyOf(list, entry);
  const exempt = exemptPattern(config.exemptImages);
  const exemptTest = exempt === undefined ? '' : ` || ${image}.matches(${celString(exempt)})`;
  return bind(
    'inf',
    `variables.imageInfo[${image}]`,
    `inf[0] == ''${exemptTest} ? ''` +
      ` : ${bind(
        'p',
        'variables.policies[inf[0]]',
        `variables.mode == 'enforce' && p != '' ? p` +
          ` : (${explicit(list, entry, current, 'inf')}) ? ''` +
          // Row 5, the API server's default, can only differ from the value on UPDATE.
          ` : p != '' ? p : ${current} == '' ? '' : inf[1]`,
      )}`,
  );
}

function listPatches(config: PullfixConfig, list: ContainerList): string {
  const policyPath = jsonPointer(ENTRY_FIELDS[list].pullPolicy);
  // Only the ephemeral containers a request adds: those already there are immutable.
  const added =
    list === 'ephemeralContainers'
      ? ` && !(c.?name.orValue('') in ${listOf('variables.oldSpec', list)}.map(o, o.?name.orValue('')))`
      : '';
  return (
    `${listOf('variables.spec', list)}.transformList(i, c, [${target(config, list, 'c')}]` +
    `.filter(t, t != '' && t != ${policyOf(list, 'c')}${added})` +
    `.map(t, JSONPatch{op: 'add', path: variables.specPath + ${celString(`/${list}/`)} + string(i) + ${celString(policyPath)}, value: t})).flatten()`
  );
}

/** The JSON patch expression: one `add` per entry whose pull policy changes. */
export function patchExpression(config: PullfixConfig): string {
  const template = TEMPLATE_LISTS.map((list) => listPatches(config, list)).join(' +\n  ');
  return `${EPHEMERAL} ?\n  ${listPatches(config, 'ephemeralContainers')} :\n  ${template}`;
}

/** CEL: client-side apply recorded no imagePullPolicy at all, so none is explicit by rule 1 and there is no stray. */
export const NO_POLICY_IN_LAST_APPLIED =
  `${EPHEMERAL} || !object.metadata.?annotations[?${celString(LAST_APPLIED_ANNOTATION)}].orValue('').contains('"imagePullPolicy"')`;

/** CEL: no pod-level field in the object (a schemaless template's stray field is the webhook's to move). */
export const NO_STRAY_FIELD = `!variables.spec.?imagePullPolicy.hasValue()`;
