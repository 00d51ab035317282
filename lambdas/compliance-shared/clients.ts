/** Clients of the compliance functions, made once per container (endpoints from AWS_ENDPOINT_URL_*). */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SNSClient } from '@aws-sdk/client-sns';
import { S3JsonObjects, type JsonObjects } from '../../core/compliance';
import { s3Client } from '../shared/clients';

let cloudwatch: CloudWatchClient | undefined;
let sns: SNSClient | undefined;

export const cloudwatchClient = (): CloudWatchClient => (cloudwatch ??= new CloudWatchClient({ region: process.env.AWS_REGION }));
export const snsClient = (): SNSClient => (sns ??= new SNSClient({ region: process.env.AWS_REGION }));
export const reportObjects = (bucket: string): JsonObjects => new S3JsonObjects(s3Client(), bucket);
