/**
 * One Powertools logger per function. Log ids, keys and statuses only:
 * never an event as a whole (send-step and prepare-backup events carry
 * presigned URLs), never a URL, a command's output or anything from a host's
 * env file. The task scaffold sets the level from POWERTOOLS_LOG_LEVEL.
 */
import { Logger } from '@aws-lambda-powertools/logger';

export function createLogger(functionName: string): Logger {
  return new Logger({ serviceName: 'fleetwave', persistentKeys: { function: functionName } });
}
