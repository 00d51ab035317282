/** The lab's EventBridge pattern matching (lab/events.ts), on the shapes of the rules the stack makes. */
import { describe, expect, it } from 'vitest';
import { matchesPattern } from '../../../lab/events';

const commandEnded = {
  source: ['aws.ssm'],
  'detail-type': ['EC2 Command Invocation Status-change Notification'],
  detail: { 'document-name': ['Fleetwave-Restart', 'Fleetwave-Backup'], status: ['Success', 'Failed', 'TimedOut', 'Cancelled'] },
};
const event = (detail: Record<string, unknown>, source = 'aws.ssm') => ({
  version: '0',
  source,
  'detail-type': 'EC2 Command Invocation Status-change Notification',
  detail: { 'command-id': 'c-1', 'instance-id': 'i-0123456789abcdef0', ...detail },
});

describe('EventBridge patterns in the lab', () => {
  it('matches when every named field has one of the listed values, nested fields included', () => {
    expect(matchesPattern(commandEnded, event({ 'document-name': 'Fleetwave-Restart', status: 'Success' }))).toBe(true);
    expect(matchesPattern(commandEnded, event({ 'document-name': 'Fleetwave-Restart', status: 'InProgress' }))).toBe(false);
    expect(matchesPattern(commandEnded, event({ 'document-name': 'Fleetwave-Inventory', status: 'Success' }))).toBe(false);
    expect(matchesPattern(commandEnded, event({ 'document-name': 'Fleetwave-Restart', status: 'Success' }, 'aws.states'))).toBe(false);
    // a field the pattern names but the event lacks does not match
    expect(matchesPattern(commandEnded, event({ status: 'Success' }))).toBe(false);
  });

  it('knows prefix, anything-but, exists, and array values', () => {
    expect(matchesPattern({ detail: { 'document-name': [{ prefix: 'Fleetwave-' }] } }, event({ 'document-name': 'Fleetwave-Restart' }))).toBe(true);
    expect(matchesPattern({ detail: { status: [{ 'anything-but': ['Success'] }] } }, event({ status: 'Failed' }))).toBe(true);
    expect(matchesPattern({ detail: { status: [{ 'anything-but': 'Failed' }] } }, event({ status: 'Failed' }))).toBe(false);
    expect(matchesPattern({ detail: { error: [{ exists: false }] } }, event({}))).toBe(true);
    expect(matchesPattern({ detail: { error: [{ exists: true }] } }, event({}))).toBe(false);
    expect(matchesPattern({ resources: ['arn:x'] }, { resources: ['arn:y', 'arn:x'] })).toBe(true);
  });
});
