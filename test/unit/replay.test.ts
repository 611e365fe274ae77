/**
 * Determinism: histories recorded from real runs on the lab (test/fixtures/histories, written by
 * the e2e tests when FERRY_RECORD_HISTORIES names that dir) replay against today's workflow code.
 * A change that would break running workflows fails here. `remote-control-*` were recorded before
 * the control steps became local activities (docs/local-activities.md): the patch keeps them valid.
 * `live-migration-*` were recorded before a step's events rode with the neighbouring writes,
 * `events-batched-live-migration-*` after: both paths of that patch replay.
 * `merged-steps-live-migration-*` were recorded with the control steps merged.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';

const dir = join(__dirname, '..', 'fixtures', 'histories');
const fixtures = readdirSync(dir).filter((file) => file.endsWith('.json'));

describe('replay of recorded workflow histories', () => {
  let workflowBundle: WorkflowBundle;
  beforeAll(async () => {
    workflowBundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
  });

  it('has recorded histories to replay', () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });

  it.each(fixtures)('%s replays without nondeterminism', async (file) => {
    // fromObject, not the SDK's historyFromJSON: that one pairs protobufjs 8's JSON reader with
    // the proto types of protobufjs 7 in this install, and refuses them ("type must be a Type").
    const history = temporal.api.history.v1.History.fromObject(
      JSON.parse(readFileSync(join(dir, file), 'utf8')),
    );
    await Worker.runReplayHistory({ workflowBundle }, history, file.replace(/\.json$/, ''));
  });
});
