/**
 * The agent's upload of a step's full output to S3 (SendCommand's
 * OutputS3BucketName / OutputS3KeyPrefix): `<prefix>/stdout` and
 * `<prefix>/stderr`, only the non-empty streams; a failed upload is logged
 * and the command's result stands, as the agent does.
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html (OutputS3BucketName, OutputS3KeyPrefix)
 */
import { open } from 'node:fs/promises';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { StepResult } from './agent';
import type { CommandState, PluginState } from './commands';

export async function uploadCommandOutput(s3: S3Client, command: CommandState, plugin: PluginState, result: StepResult, log: (message: string) => void): Promise<void> {
  if (!command.outputS3BucketName) return;
  for (const [file, captured] of [['stdout', result.stdout], ['stderr', result.stderr]] as const) {
    if (captured.bytes === 0) continue;
    // The file is opened before the request, so a capture that is gone (the
    // host's directory removed while the lab shuts down) is one logged
    // failure, never an error event on a stream nobody listens to.
    let handle: Awaited<ReturnType<typeof open>> | null = null;
    try {
      handle = await open(captured.path, 'r');
      const body = handle.createReadStream({ autoClose: false });
      body.on('error', () => undefined); // surfaced by s3.send as a rejected request
      await s3.send(
        new PutObjectCommand({
          Bucket: command.outputS3BucketName,
          Key: `${plugin.outputS3KeyPrefix}/${file}`,
          Body: body,
          ContentLength: captured.bytes,
        }),
      );
    } catch (err) {
      log(`ssm: failed to upload ${file} of ${command.commandId} to s3://${command.outputS3BucketName}: ${(err as Error).message}`);
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }
}
