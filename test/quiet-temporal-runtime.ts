import { DefaultLogger, Runtime } from '@temporalio/worker';

// Tests provoke activity failures on purpose; the SDK's warnings about them are noise here.
// Errors still print. Test files share a process, and the runtime can be installed only once.
try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // installed by an earlier test file in this worker
}
