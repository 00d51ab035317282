import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import {
  AllowedMethods,
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { consoleContentSecurityPolicy, type ConsoleConfig } from '../core/api/auth';
import { acknowledge, managedPolicy, nagAttribute, wildcardAction, wildcardResource } from './nag';

const CONSOLE_DIR = fileURLToPath(new URL('../console', import.meta.url));

/**
 * Where the console's static files are served from: a private bucket read by
 * CloudFront through origin access control, with security headers (a content
 * security policy allowing scripts only from the console itself and requests
 * only to the region's API Gateway and Cognito endpoints). The files hold no
 * data and no secret: everything the console shows comes from the operator
 * API after a sign-in (docs/decisions/console-auth.md).
 */
export class ConsoleSite extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  /** `https://<id>.cloudfront.net`: the console's origin (CORS, the Origin check, the sign-in callback). */
  readonly url: string;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const region = Stack.of(this).region;
    this.bucket = new Bucket(this, 'Files', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: false,
    });
    acknowledge(
      this.bucket,
      ['AwsSolutions-S1'],
      'The console bucket holds only the static files of console/ (the same in every deployment, no data); reads are through CloudFront only, and every API call the console makes is logged by the API stage.',
    );
    const headers = new ResponseHeadersPolicy(this, 'Headers', {
      comment: 'fleetwave console: strict CSP, no framing, no referrer',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: consoleContentSecurityPolicy([`https://*.execute-api.${region}.amazonaws.com`, `https://*.auth.${region}.amazoncognito.com`]),
          override: true,
        },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        contentTypeOptions: { override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
      },
    });
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'fleetwave operators console',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        responseHeadersPolicy: headers,
      },
    });
    acknowledge(
      this.distribution,
      ['AwsSolutions-CFR1', 'AwsSolutions-CFR2', 'AwsSolutions-CFR3', 'AwsSolutions-CFR4'],
      'The distribution serves only the console\'s static files (no data, no secret); operators anywhere must reach it, every data request is authenticated at the API (JWT authorizer) and logged there; the default *.cloudfront.net certificate is used until a custom domain is configured.',
    );
    this.url = `https://${this.distribution.distributionDomainName}`;
  }

  /** Upload console/ and its config.json (where the API is and how to sign in). */
  deploy(config: ConsoleConfig): void {
    const deployment = new BucketDeployment(this, 'Deploy', {
      destinationBucket: this.bucket,
      sources: [Source.asset(CONSOLE_DIR), Source.jsonData('config.json', config)],
      // the files are small and change with each deployment: always revalidated
      cacheControl: [CacheControl.noCache()],
      prune: true,
      memoryLimit: 256,
    });
    // CDK's singleton behind every BucketDeployment: its role and Python runtime are CDK's
    const stack = Stack.of(this);
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const singleton = stack.node.children.filter((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    for (const target of [deployment, ...singleton]) {
      acknowledge(
        target,
        [
          managedPolicy('service-role/AWSLambdaBasicExecutionRole'),
          wildcardAction('s3:GetObject*'),
          wildcardAction('s3:GetBucket*'),
          wildcardAction('s3:List*'),
          wildcardAction('s3:DeleteObject*'),
          wildcardAction('s3:Abort*'),
          wildcardResource(`arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-${region}/*`),
          wildcardResource(`${nagAttribute(this.bucket)}/*`),
          'AwsSolutions-L1',
        ],
        'CDK\'s BucketDeployment custom resource copies the console files from the CDK asset bucket into the console bucket (and prunes old ones there only); its role and runtime are managed by CDK.',
      );
    }
  }
}
