// The `pullfix.dev/changes` note's format (docs/configuration.md, "The note"): written, cut at its bound, read
// back, and merged with earlier notes.
import { expect } from 'chai';
import fc from 'fast-check';
import { formatNote, mergeNotes, NOTE_LIMIT, parseNote, type NoteEntry } from '../../src/engine/note.js';
import { checkProperty } from '../helpers/seeds.js';

function entry(name: string, to: NoteEntry['to'] = 'Always', from = 'IfNotPresent'): NoteEntry {
  return { list: 'containers', name, from, to, reason: 'policy', imageClass: 'mutable' };
}

describe('engine: the changes note', () => {
  it('a note that fits is written whole', () => {
    const text = formatNote({ entries: [entry('app'), { list: 'volumes', name: 'data', to: 'Never', reason: 'stray', imageClass: 'tagged' }], strayRemoved: 'Never' });
    expect(text).to.equal('containers[app]: IfNotPresent->Always (policy mutable); volumes[data]: unset->Never (pod-level value); removed pod-level imagePullPolicy Never');
    expect(parseNote(text)).to.deep.equal({
      entries: [entry('app'), { list: 'volumes', name: 'data', to: 'Never', reason: 'stray', imageClass: 'tagged' }],
      strayRemoved: 'Never',
    });
  });

  it('past its bound: the entries that fit, "… and N more", then the stray clause; read back with N', () => {
    const entries = Array.from({ length: 100 }, (_, i) => entry(`c${i}`));
    const text = formatNote({ entries, strayRemoved: 'Always' }, { limit: 500 });
    expect(Buffer.byteLength(text)).to.be.at.most(500);
    expect(text).to.match(/^containers\[c0\]: IfNotPresent->Always \(policy mutable\); .*; … and \d+ more; removed pod-level imagePullPolicy Always$/);
    const note = parseNote(text);
    expect(note.entries.length + (note.omitted ?? 0)).to.equal(100);
    expect(note.entries).to.deep.equal(entries.slice(0, note.entries.length));
    expect(note.strayRemoved).to.equal('Always');
    // Written again as read, a cut note is the same text.
    expect(formatNote(note, { limit: 500 })).to.equal(text);
  });

  it('entries `first` prefers are written before the others, each in its place', () => {
    const entries = Array.from({ length: 40 }, (_, i) => entry(`c${i}`, i % 4 === 0 ? 'Never' : 'Always'));
    const text = formatNote({ entries }, { limit: 400, first: (e) => e.to === 'Never' });
    // 400 bytes take seven entries, fewer than the ten preferred: the first seven of those, in order.
    expect(parseNote(text).entries.map((e) => e.name)).to.deep.equal(['c0', 'c4', 'c8', 'c12', 'c16', 'c20', 'c24']);
    expect(parseNote(text).omitted).to.equal(33);
  });

  it('the default bound is 4 KiB', () => {
    const text = formatNote({ entries: Array.from({ length: 10_000 }, (_, i) => entry(`container-${i}`)) });
    expect(Buffer.byteLength(text)).to.be.at.most(NOTE_LIMIT);
    expect(NOTE_LIMIT).to.equal(4096);
  });

  describe('mergeNotes', () => {
    const holdsAlways = (_list: string, _name: string, value: string): boolean => value === 'Always';

    it('own entries first, then earlier ones that still hold, none repeated', () => {
      const earlier = { entries: [entry('b'), entry('a'), entry('c', 'Never')] };
      expect(mergeNotes([entry('a')], [earlier, earlier], holdsAlways).map((e) => e.name)).to.deep.equal(['a', 'b']);
    });

    it('property: merging a note with itself, as a call on its own output does, changes nothing', () => {
      const item = fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd'), to: fc.constantFrom('Always', 'IfNotPresent', 'Never') });
      // A request's own entries name each container once (a valid pod); earlier notes may repeat.
      const ownArb = fc.uniqueArray(item, { selector: (e) => e.name, maxLength: 4 });
      checkProperty(
        fc.property(ownArb, fc.array(item, { maxLength: 8 }), (own, old) => {
          const holds = (): boolean => true;
          const first = mergeNotes(own.map((e) => entry(e.name, e.to as NoteEntry['to'])), [{ entries: old.map((e) => entry(e.name, e.to as NoteEntry['to'])) }], holds);
          const text = formatNote({ entries: first });
          const again = mergeNotes([], [parseNote(text), { entries: old.map((e) => entry(e.name, e.to as NoteEntry['to'])) }], holds);
          expect(formatNote({ entries: again })).to.equal(text);
        }),
        { numRuns: 300 },
      );
    });
  });
});
