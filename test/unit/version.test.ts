import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareVersions, isParseableVersion, versionParts } from '../../src/common/version';

test('versions with local labels and pre-releases compare by their numbers', () => {
  assert.deepEqual(versionParts('2.13.0+cpu'), [2, 13, 0]);
  assert.ok(compareVersions('2.13.0+cpu', '2.2') > 0, '13 > 2 numerically, not as text');
  assert.ok(compareVersions('1.13.1', '2.0') < 0);
  assert.equal(compareVersions('2.0', '2.0.0'), 0);
  assert.ok(compareVersions('2.1.0a0+git1234', '2.1') === 0);
  assert.ok(!isParseableVersion('unknown'));
});
