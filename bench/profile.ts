// Reads a V8 .cpuprofile (node --cpu-prof) and lists the frames that used the most CPU, by self
// time, with their share of the busy (non-idle) samples.
//   node dist/bench/profile.js FILE.cpuprofile [--top 15]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, flags } from './common.js';

export interface Share {
  group: string;
  pct: number;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Frame {
  frame: string;
  selfPct: number;
  selfMs: number;
}

function where(url: string, line: number): string {
  if (url === '') return '';
  let file = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (path.isAbsolute(file)) file = path.relative(REPO_ROOT, file);
  file = file.replace(/^node_modules\//, '');
  return ` ${file}:${line + 1}`;
}

const IDLE = new Set(['(idle)', '(program)']);

/** Frames by self time; idle and the VM's own bookkeeping are left out of the shares. */
export function topFrames(file: string, top = 15): Frame[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (!node) return;
    const name = node.callFrame.functionName || '(anonymous)';
    const us = profile.timeDeltas[i] ?? 0;
    if (IDLE.has(name)) return;
    busy += us;
    const key = `${name}${where(node.callFrame.url, node.callFrame.lineNumber)}`;
    self.set(key, (self.get(key) ?? 0) + us);
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, us]) => ({ frame, selfMs: us / 1000, selfPct: (100 * us) / (busy || 1) }));
}

/**
 * For each group, the share of busy samples in it: with a frame of the group anywhere on the
 * stack (inclusive), or, for a `self` group, in the group's own code. Inclusive groups nest, so
 * shares may add up to more than 100%. A group matches `function url:line` keys as topFrames
 * prints them.
 */
export function groupShares(file: string, groups: ReadonlyArray<{ group: string; match: RegExp; self?: boolean }>): Share[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'}${where(n.callFrame.url, n.callFrame.lineNumber)}`;
  const hits = new Array<number>(groups.length).fill(0);
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (!node || IDLE.has(node.callFrame.functionName)) return;
    const us = profile.timeDeltas[i] ?? 0;
    busy += us;
    const stack: string[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (n) stack.push(key(n));
    }
    groups.forEach((g, gi) => {
      if (g.self ? g.match.test(stack[0] ?? '') : stack.some((k) => g.match.test(k))) hits[gi] = (hits[gi] ?? 0) + us;
    });
  });
  return groups.map((g, gi) => ({ group: g.group, pct: (100 * (hits[gi] ?? 0)) / (busy || 1) }));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const f = flags(process.argv.slice(3));
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile.js FILE.cpuprofile [--top N]');
  for (const { frame, selfPct, selfMs } of topFrames(file, Number(f.get('top') ?? '15'))) {
    process.stdout.write(`${selfPct.toFixed(1).padStart(5)}%  ${selfMs.toFixed(0).padStart(6)} ms  ${frame}\n`);
  }
}
