import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { FlowLogDestination, FlowLogTrafficType, Port, SecurityGroup, SubnetType, Vpc, type IVpc } from 'aws-cdk-lib/aws-ec2';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AuroraPostgresEngineVersion, ClusterInstance, Credentials, DatabaseCluster, DatabaseClusterEngine } from 'aws-cdk-lib/aws-rds';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface RegistryDatabaseProps {
  /**
   * An existing PostgreSQL database: a Secrets Manager secret in the RDS
   * format (host, port, username, password, dbname). When given, no Aurora
   * cluster is made and the task functions run outside a VPC unless `vpc` is
   * also given (for a database only reachable inside one).
   */
  readonly existingSecret?: ISecret;
  readonly vpc?: IVpc;
  /** Aurora Serverless v2 capacity range (ACUs). */
  readonly minCapacity?: number;
  readonly maxCapacity?: number;
}

/**
 * The registry: Aurora PostgreSQL Serverless v2 in private subnets by
 * default (encrypted, IAM-authenticated secret rotation-ready, deletion
 * protected, backups kept), or an existing database through its secret.
 */
export class RegistryDatabase extends Construct {
  readonly secret: ISecret;
  readonly vpc?: IVpc;
  readonly clientSecurityGroup?: SecurityGroup;
  readonly cluster?: DatabaseCluster;

  constructor(scope: Construct, id: string, props: RegistryDatabaseProps = {}) {
    super(scope, id);
    if (props.existingSecret) {
      this.secret = props.existingSecret;
      this.vpc = props.vpc;
      if (props.vpc) this.clientSecurityGroup = new SecurityGroup(this, 'ClientSg', { vpc: props.vpc, description: 'fleetwave task functions' });
      return;
    }
    const vpc =
      props.vpc ??
      new Vpc(this, 'Vpc', {
        maxAzs: 2,
        natGateways: 1,
        subnetConfiguration: [
          { name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 },
          { name: 'tasks', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
          { name: 'database', subnetType: SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
        ],
        flowLogs: {
          all: {
            destination: FlowLogDestination.toCloudWatchLogs(new LogGroup(this, 'FlowLogs', { retention: RetentionDays.THREE_MONTHS })),
            trafficType: FlowLogTrafficType.REJECT,
          },
        },
      });
    this.vpc = vpc;
    this.clientSecurityGroup = new SecurityGroup(this, 'ClientSg', { vpc, description: 'fleetwave task functions', allowAllOutbound: true });
    const dbSg = new SecurityGroup(this, 'DatabaseSg', { vpc, description: 'fleetwave registry', allowAllOutbound: false });
    dbSg.addIngressRule(this.clientSecurityGroup, Port.tcp(5432), 'task functions to the registry');

    this.cluster = new DatabaseCluster(this, 'Cluster', {
      engine: DatabaseClusterEngine.auroraPostgres({ version: AuroraPostgresEngineVersion.VER_16_4 }),
      credentials: Credentials.fromGeneratedSecret('fleetwave'),
      defaultDatabaseName: 'fleetwave',
      writer: ClusterInstance.serverlessV2('writer', { autoMinorVersionUpgrade: true }),
      serverlessV2MinCapacity: props.minCapacity ?? 0.5,
      serverlessV2MaxCapacity: props.maxCapacity ?? 4,
      vpc,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_ISOLATED },
      securityGroups: [dbSg],
      storageEncrypted: true,
      deletionProtection: true,
      iamAuthentication: true,
      backup: { retention: Duration.days(14) },
      cloudwatchLogsExports: ['postgresql'],
      cloudwatchLogsRetention: RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    this.secret = this.cluster.secret!;
    // The rotation function must reach the database and the Secrets Manager endpoint. By
    // default CDK puts it in the cluster's subnets, which are isolated: no route to the
    // endpoint, so rotation never happened. The tasks subnets reach it through the NAT
    // gateway (an interface endpoint in the isolated subnets would do too, at a price per AZ).
    // Single user: open connections survive a rotation and new ones use the new password;
    // the registry pool re-reads the secret when a password is refused (core/registry/recovery.ts).
    this.cluster.addRotationSingleUser({
      automaticallyAfter: Duration.days(30),
      vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS },
    });
    Validations.of(this.cluster).acknowledge({
      id: 'AwsSolutions-RDS11',
      reason: 'The registry is reachable only from the task functions security group in isolated subnets; the default port is kept for operator tooling.',
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Rotation is configured with addRotationSingleUser.',
    });
  }

  grantConnect(grantee: IGrantable): void {
    this.secret.grantRead(grantee);
  }

  /** Where a function that uses the registry must run (the database's VPC, when there is one). */
  clientNetwork(): { vpc?: IVpc; securityGroups?: SecurityGroup[] } {
    return this.vpc ? { vpc: this.vpc, securityGroups: this.clientSecurityGroup ? [this.clientSecurityGroup] : [] } : {};
  }

  /** The environment every registry task shares (lambdas/shared/registry-env.ts). */
  clientEnvironment(): Record<'REGISTRY_SECRET_ARN' | 'LEASE_TTL_SECONDS' | 'POWERTOOLS_SERVICE_NAME' | 'NODE_EXTRA_CA_CERTS', string> {
    return {
      REGISTRY_SECRET_ARN: this.secret.secretArn,
      LEASE_TTL_SECONDS: String(4 * 3600),
      POWERTOOLS_SERVICE_NAME: 'fleetwave',
      // the Lambda Node.js runtime ships the RDS CA bundle here; pg verifies Aurora's certificate with it
      NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
    };
  }
}
