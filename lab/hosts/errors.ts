/** The lab docker's error (message + docker's exit code) and its output helpers. */
export class DockerCliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
export const unsupported = (what: string) => new DockerCliError(`fleetwave lab docker: unsupported ${what}`, 125);

export const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
export const err = (s: string) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`);
