/**
 * The lab's SSM documents with their versions, as Systems Manager keeps them:
 * each UpdateDocument adds version n+1 (the default stays where it was until
 * UpdateDocumentDefaultVersion moves it), and SendCommand runs `$DEFAULT`,
 * `$LATEST` or a version number, refusing one the document does not have with
 * InvalidDocumentVersion ("The document version isn't valid or doesn't
 * exist", SendCommand API reference; run-command-version.html).
 *
 * CloudFormation's `UpdateMethod: NewVersion` ("the default version of the
 * document is changed to the newly created version", AWS::SSM::Document) is
 * `deploy`: the lab deploys the template's documents with it.
 */
import { createHash } from 'node:crypto';
import { SsmError } from './commands';
import { parseCommandDocument, type CommandDocument } from './document';

export interface DocumentVersionRecord {
  name: string;
  /** "1", "2", … as SSM numbers them. */
  version: string;
  /** The content as given (JSON or YAML text), and what the agent runs. */
  content: string;
  format: 'JSON' | 'YAML';
  parsed: CommandDocument;
  /** SHA-256 of the content, DescribeDocument's `Hash`. */
  hash: string;
  createdAt: number;
}

interface StoredDocument {
  versions: DocumentVersionRecord[];
  defaultVersion: string;
}

/** DescribeDocument / UpdateDocument's DocumentVersion: `$LATEST`, `$DEFAULT` or a number. */
const VERSION_SELECTOR = /^([$]LATEST|[$]DEFAULT|[1-9][0-9]*)$/;

function asText(content: string | object): { content: string; format: 'JSON' | 'YAML' } {
  if (typeof content !== 'string') return { content: JSON.stringify(content), format: 'JSON' };
  try {
    JSON.parse(content);
    return { content, format: 'JSON' };
  } catch {
    return { content, format: 'YAML' };
  }
}

const hashOf = (content: string | object): string => createHash('sha256').update(asText(content).content).digest('hex');

export class DocumentStore {
  private readonly docs = new Map<string, StoredDocument>();

  private record(name: string, version: number, content: string | object): DocumentVersionRecord {
    const text = asText(content);
    let parsed: CommandDocument;
    try {
      parsed = parseCommandDocument(name, content);
    } catch (err) {
      throw new SsmError('InvalidDocumentContent', (err as Error).message);
    }
    return { name, version: String(version), ...text, parsed, hash: hashOf(content), createdAt: Date.now() };
  }

  private require(name: string): StoredDocument {
    const doc = this.docs.get(name);
    if (!doc) throw new SsmError('InvalidDocument', `Document ${name} does not exist in your account.`);
    return doc;
  }

  has(name: string): boolean {
    return this.docs.has(name);
  }

  /** CreateDocument: version 1, the default. */
  create(name: string, content: string | object): DocumentVersionRecord {
    if (this.docs.has(name)) throw new SsmError('DocumentAlreadyExists', `Document with name ${name} already exists.`);
    const first = this.record(name, 1, content);
    this.docs.set(name, { versions: [first], defaultVersion: first.version });
    return first;
  }

  /**
   * UpdateDocument: a new version, not the default. Only the latest version
   * can be updated; the same content as the latest is DuplicateDocumentContent.
   */
  update(name: string, content: string | object, documentVersion?: string): DocumentVersionRecord {
    const doc = this.require(name);
    const latest = doc.versions.at(-1)!;
    if (documentVersion !== undefined && documentVersion !== '$LATEST' && documentVersion !== latest.version) {
      throw new SsmError('InvalidDocumentVersion', `Only the latest version (${latest.version}) of ${name} can be updated, not ${documentVersion}.`);
    }
    const next = this.record(name, doc.versions.length + 1, content);
    if (next.hash === latest.hash) throw new SsmError('DuplicateDocumentContent', 'The content of the document matches its latest version.');
    doc.versions.push(next);
    return next;
  }

  /** UpdateDocumentDefaultVersion. */
  setDefault(name: string, version: string): void {
    const doc = this.require(name);
    if (!doc.versions.some((v) => v.version === version)) {
      throw new SsmError('InvalidDocumentVersion', `The document version ${version} isn't valid or doesn't exist.`);
    }
    doc.defaultVersion = version;
  }

  /** What CloudFormation does with `UpdateMethod: NewVersion`: create, or add a version and make it the default. */
  deploy(name: string, content: string | object): DocumentVersionRecord {
    if (!this.docs.has(name)) return this.create(name, content);
    const doc = this.require(name);
    const latest = doc.versions.at(-1)!;
    if (latest.hash === hashOf(content)) return latest;
    const next = this.update(name, content);
    doc.defaultVersion = next.version;
    return next;
  }

  /** The version a request names: `$DEFAULT` when none, `$LATEST`, or a number. */
  resolve(name: string, selector: string | undefined): DocumentVersionRecord {
    const doc = this.require(name);
    const wanted = selector ?? '$DEFAULT';
    const version = wanted === '$DEFAULT' ? doc.defaultVersion : wanted === '$LATEST' ? doc.versions.at(-1)!.version : wanted;
    const found = VERSION_SELECTOR.test(wanted) ? doc.versions.find((v) => v.version === version) : undefined;
    if (!found) throw new SsmError('InvalidDocumentVersion', `The document version ${wanted} isn't valid or doesn't exist.`);
    return found;
  }

  /** DescribeDocument's DocumentDescription of one version. */
  describe(name: string, selector: string | undefined) {
    const doc = this.require(name);
    const v = this.resolve(name, selector);
    return {
      Name: name,
      DocumentVersion: v.version,
      LatestVersion: doc.versions.at(-1)!.version,
      DefaultVersion: doc.defaultVersion,
      Hash: v.hash,
      HashType: 'Sha256',
      Status: 'Active',
      DocumentType: 'Command',
      DocumentFormat: v.format,
      SchemaVersion: v.parsed.schemaVersion,
      Description: v.parsed.description ?? '',
      PlatformTypes: ['Linux'],
      Parameters: Object.entries(v.parsed.parameters).map(([Name, p]) => ({
        Name,
        Type: p.type,
        Description: p.description ?? '',
        ...(p.default !== undefined ? { DefaultValue: Array.isArray(p.default) ? p.default.join(',') : String(p.default) } : {}),
      })),
      CreatedDate: v.createdAt / 1000,
      Owner: 'Self',
    };
  }
}
