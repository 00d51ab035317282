/**
 * The lab's view of the synthesized CDK app: `loadCloudAssembly` (assembly.ts)
 * reads the cloud assembly, resolves its intrinsics (intrinsics.ts) and
 * returns the resources the lab runs (resources.ts).
 */
export { loadCloudAssembly, type LoadOptions, type ResourceOverrides } from './assembly';
export { deployCustomResources } from './custom-resources';
export {
  LAB_ACCOUNT,
  LAB_PARTITION,
  LAB_REGION,
  LAB_URL_SUFFIX,
  resolveIntrinsics,
  TemplateError,
  UnsupportedIntrinsicError,
  type IntrinsicContext,
} from './intrinsics';
export { emptyLabTemplate } from './resources';
export type { LabBucket, LabCustomResource, LabDocument, LabFunction, LabSchedule, LabSecret, LabStateMachine, LabTemplate, LabTopic } from './resources';
