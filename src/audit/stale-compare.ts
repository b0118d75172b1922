// Is the build a container runs the one its tag points to now? SPEC section 10: compare
// content, never repository names (containerd reports as imageID the first repository digest
// it has stored for that content, which may name another repository). Current when the running
// digest is the tag's digest, or the digest of the index's manifest for the node's platform,
// or a manifest with that manifest's config digest. Only the node's platform matters.

import type { Manifest, Platform, RegistryError, TagResolution } from '../registry/client.js';

export interface Verdict {
  current: boolean;
  /** The tag's digest now (an index's own digest for a multi-platform tag). */
  currentDigest: string;
  /** The node platform's manifest in the index, where the tag is an index. */
  currentPlatformDigest?: string;
  /** How it was decided, for messages and tests. */
  how: 'tag digest' | 'platform manifest' | 'same config' | 'differs';
}

/** The index entries for `platform` (all of them when the node's platform is unknown). */
export function platformEntries(index: Manifest, platform: Platform | undefined): string[] {
  const entries = index.manifests ?? [];
  if (!platform) return entries.map((e) => e.digest);
  return entries
    .filter((e) => e.platform?.os === platform.os && e.platform.architecture === platform.architecture && (platform.variant === undefined || e.platform.variant === undefined || e.platform.variant === platform.variant))
    .map((e) => e.digest);
}

/**
 * Judges `running` (a digest) against the tag's resolution. `read` fetches a manifest by digest
 * (memoised by the client), and is called only when the digests differ; a running manifest the
 * registry no longer has (404) cannot be the current build.
 */
export async function judge(running: string, tag: TagResolution, platform: Platform | undefined, read: (digest: string) => Promise<Manifest>): Promise<Verdict> {
  if (running === tag.digest) return { current: true, currentDigest: tag.digest, how: 'tag digest' };
  const candidates = tag.index ? platformEntries(tag.index, platform) : [tag.digest];
  const platformDigest = tag.index ? candidates[0] : undefined;
  const base = { currentDigest: tag.digest, ...(platformDigest ? { currentPlatformDigest: platformDigest } : {}) };
  if (tag.index && candidates.includes(running)) return { ...base, current: true, currentPlatformDigest: running, how: 'platform manifest' };
  if (candidates.length === 0) return { ...base, current: false, how: 'differs' };

  let runningManifest: Manifest;
  try {
    runningManifest = await read(running);
  } catch (err) {
    if ((err as RegistryError).reason === 'not-found') return { ...base, current: false, how: 'differs' };
    throw err;
  }
  // An index the node pulled earlier: its entry for the platform is what runs.
  const runningDigests = runningManifest.manifests ? platformEntries(runningManifest, platform) : [running];
  if (runningDigests.some((d) => candidates.includes(d))) return { ...base, current: true, how: 'platform manifest' };
  const runningConfigs = new Set<string>();
  for (const digest of runningDigests) {
    const m = digest === running ? runningManifest : await read(digest);
    if (m.configDigest) runningConfigs.add(m.configDigest);
  }
  for (const digest of candidates) {
    const m = await read(digest);
    if (m.configDigest && runningConfigs.has(m.configDigest)) return { ...base, current: true, how: 'same config' };
  }
  return { ...base, current: false, how: 'differs' };
}
