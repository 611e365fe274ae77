import { log } from '@temporalio/workflow';
import { hostAgent, resizingAgent } from './activity-proxies';
import { failureMessage } from './failures';

/**
 * Nova's shared-storage test between two hosts, as the live migration's pre-check runs it: `dest`
 * writes a probe file into its instances dir, and `source` looks for it in its own.
 */
export async function sharesInstancesDir(source: string, dest: string): Promise<boolean> {
  const probe = await resizingAgent(dest).createStorageProbe({});
  try {
    return await hostAgent(source).hasStorageProbe(probe);
  } finally {
    await hostAgent(dest)
      .removeStorageProbe(probe)
      .catch((error: unknown) =>
        log.warn('storage probe left behind', { host: dest, error: failureMessage(error) }),
      );
  }
}
