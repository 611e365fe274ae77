/**
 * A host agent's resize and cold-migration activities (the ResizeHostActivities contract); see
 * docs/resize.md. Failures a retry cannot fix are non-retryable MigrationErrors (InstanceNotFound
 * when the source has no domain of the instance); the others are thrown for Temporal to retry.
 */
import type { ResizeHostActivities } from '../../../workflows/resize-contract';
import type { ResizeAgentContext } from './context';
import { confirmAtSource } from './confirm';
import { copyDiskInSharedStorage } from './copy-in-shared-storage';
import { copyDiskToPeer } from './copy-to-peer';
import { resizeFailure } from './failures';
import { finishResize } from './finish';
import { powerOffAndSetAside } from './power-off';
import { removeResized } from './remove';
import { restoreAtSource } from './restore';
import { writeStorageProbe } from '../live-migration/storage-probe';

export function createResizeActivities(context: ResizeAgentContext): ResizeHostActivities {
  const step =
    <R, T>(
      name: keyof ResizeHostActivities,
      run: (context: ResizeAgentContext, request: R) => Promise<T>,
    ) =>
    async (request: R): Promise<T> => {
      try {
        return await run(context, request);
      } catch (error) {
        throw resizeFailure(error, `${name} on ${context.hostName}`);
      }
    };
  return {
    powerOffAndSetAsideSource: step('powerOffAndSetAsideSource', powerOffAndSetAside),
    createStorageProbe: step('createStorageProbe', async (host) => ({
      storageProbe: await writeStorageProbe(host.instancesDir, host.hostName),
    })),
    copyDiskToHost: step('copyDiskToHost', copyDiskToPeer),
    copyDiskInSharedStorage: step('copyDiskInSharedStorage', copyDiskInSharedStorage),
    finishResizeAtDestination: step('finishResizeAtDestination', finishResize),
    removeResizedInstance: step('removeResizedInstance', removeResized),
    confirmResizeAtSource: step('confirmResizeAtSource', confirmAtSource),
    restoreSource: step('restoreSource', restoreAtSource),
  };
}
