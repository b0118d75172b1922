// The project's own MutatingWebhookConfiguration, as `kubectl kustomize` renders it from
// manifests/, pointed at a pullfix on loopback instead of the in-cluster Service.
import { parseAllDocuments } from 'yaml';

type Json = Record<string, any>;

/**
 * Picks the MutatingWebhookConfiguration out of rendered kustomize output and rewrites every
 * webhook's clientConfig to `url` with `caPem` as its caBundle; everything else (rules,
 * selectors, failure policies, match conditions) stays as the manifests say.
 */
export function webhookConfigurationFor(rendered: string, url: string, caPem: string): Json {
  const docs = parseAllDocuments(rendered).map((doc) => doc.toJS() as Json | null);
  const found = docs.filter((doc) => doc?.kind === 'MutatingWebhookConfiguration');
  if (found.length !== 1) throw new Error(`expected one MutatingWebhookConfiguration in the rendered manifests, found ${found.length}`);
  const config = structuredClone(found[0] as Json);
  const webhooks = config.webhooks as Json[] | undefined;
  if (!Array.isArray(webhooks) || webhooks.length === 0) throw new Error('the rendered MutatingWebhookConfiguration has no webhooks');
  for (const webhook of webhooks) {
    webhook.clientConfig = { url, caBundle: Buffer.from(caPem).toString('base64') };
  }
  return config;
}
