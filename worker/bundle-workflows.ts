/** `node dist/worker/bundle-workflows.js`: the build's last step (worker/workflow-bundle.ts). */
import { writeWorkflowBundle } from './workflow-bundle';

writeWorkflowBundle().then(
  (outcome) => process.stderr.write(`workflow bundle ${outcome}\n`),
  (error: unknown) => {
    process.stderr.write(`could not bundle the workflows: ${String(error)}\n`);
    process.exit(1);
  },
);
