// `pullfix policy`: the class-policy half of pullfix as a MutatingAdmissionPolicy and its
// binding, which the API server runs itself. Pure: a config in, Kubernetes objects out.

import { compileConfig } from '../engine/config.js';
import type { PullfixConfig } from '../engine/types.js';
import { NO_POLICY_IN_LAST_APPLIED, NO_STRAY_FIELD, patchExpression, variables } from './expressions.js';
import { handledKinds, handledRequestCondition, namespaceSelector, notControllerOwnedCondition, objectSelector, resourceRules } from './match.js';
import { checkRe2Compatible } from './tag-pattern.js';

export const POLICY_API_VERSIONS = ['v1', 'v1beta1', 'v1alpha1'] as const;
export type PolicyApiVersion = (typeof POLICY_API_VERSIONS)[number];

export const POLICY_NAME = 'pullfix.dev';
const GROUP = 'admissionregistration.k8s.io';

export interface PolicyOptions {
  apiVersion: PolicyApiVersion;
  /** Names the config in error messages. */
  configFile?: string;
}

/** The MutatingAdmissionPolicy and MutatingAdmissionPolicyBinding for a config, as plain objects. */
export function buildPolicy(config: PullfixConfig, options: PolicyOptions): [Record<string, unknown>, Record<string, unknown>] {
  // Validates the config patterns exactly as the webhook would (throws ConfigError): mutableTags
  // must compile as RE2, as CEL's `matches` needs.
  compileConfig(config);
  const where = options.configFile ?? '(config)';
  config.exemptImages.forEach((glob, i) => checkRe2Compatible(glob, `${where}: exemptImages[${i}]`));

  const kinds = handledKinds(config);
  const labels = { 'app.kubernetes.io/name': 'pullfix', 'app.kubernetes.io/component': 'admission-policy' };
  const policy = {
    apiVersion: `${GROUP}/${options.apiVersion}`,
    kind: 'MutatingAdmissionPolicy',
    metadata: { name: POLICY_NAME, labels },
    spec: {
      matchConstraints: {
        resourceRules: resourceRules(kinds),
        namespaceSelector: namespaceSelector(config),
        objectSelector: objectSelector(),
        matchPolicy: 'Equivalent',
      },
      matchConditions: [
        { name: 'handled-kind-and-operation', expression: handledRequestCondition(kinds) },
        { name: 'not-controller-owned', expression: notControllerOwnedCondition(kinds) },
        { name: 'no-pull-policy-in-last-applied', expression: NO_POLICY_IN_LAST_APPLIED },
      ],
      variables: variables(config, kinds),
      mutations: [
        { patchType: 'JSONPatch', jsonPatch: { expression: `${NO_STRAY_FIELD} ? (\n  ${patchExpression(config)}\n) : []` } },
      ],
      // pullfix never denies a request: an expression that fails leaves the object as it is.
      failurePolicy: 'Ignore',
      // Another mutation may add a container after this one ran: look again.
      reinvocationPolicy: 'IfNeeded',
    },
  };
  const binding = {
    apiVersion: `${GROUP}/${options.apiVersion}`,
    kind: 'MutatingAdmissionPolicyBinding',
    metadata: { name: POLICY_NAME, labels },
    spec: { policyName: POLICY_NAME },
  };
  return [policy, binding];
}
