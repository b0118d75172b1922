// krm on large ResourceLists: the style of the appended results is read from the whole input,
// which once spread a million indentations into Math.min and overflowed the stack (a 50 MB
// ResourceList, as make bench feeds it, ended in RangeError instead of output).
import { expect } from 'chai';
import { yamlStyle } from '../../src/krm/render-resource-list.js';

describe('krm: the results style on a ResourceList of a million lines', () => {
  it('reads the smallest indentation and the sequence style without overflowing the stack', () => {
    const item = '- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c\n  data:\n    key: value\n';
    const source = `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${item.repeat(200_000)}`;
    expect(source.split('\n').length).to.be.greaterThan(1_000_000);
    expect(yamlStyle(source)).to.deep.equal({ indent: 2, indentSeq: false, lineWidth: 0 });
  });
});
