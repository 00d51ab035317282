#!/usr/bin/env node
// npm bin shim: registers tsx so the TypeScript CLI runs without a build step.
import { register } from 'tsx/esm/api';

register();
await import('./fleetwave.ts');
