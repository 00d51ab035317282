/** Files the operator names on the command line: unreadable or invalid, it is bad input (exit 2) with every problem named. */
import { readFileSync } from 'node:fs';
import { CliError, EXIT } from './output';

export function readOperatorFile<T>(path: string, parse: (text: string, file: string) => T): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`, EXIT.invalidInput);
  }
  try {
    return parse(text, path);
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.invalidInput);
  }
}
