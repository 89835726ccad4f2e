// The isoscan serverless deployment: WebSocket API, Lambda entry points, SQS with a dead-letter
// queue, DynamoDB, S3, Secrets Manager, alarms, and (optionally) Amplify for the dashboard.
import * as path from "path";
import { CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, StackProps } from "aws-cdk-lib";
import { Construct } from "constructs";
import * as amplify from "aws-cdk-lib/aws-amplify";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import { WebSocketLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cwactions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as secrets from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subs from "aws-cdk-lib/aws-sns-subscriptions";
import * as sqs from "aws-cdk-lib/aws-sqs";
import * as ssm from "aws-cdk-lib/aws-ssm";

export interface IsoscanProps extends StackProps {
  /** Folder with `<binary>/bootstrap.zip` as `cargo lambda build --output-format zip` writes them. */
  lambdaDir: string;
  architecture: "arm64" | "x86_64";
  memoryMb: number;
  workerTimeoutS: number;
  workerConcurrency: number;
  throttleRate: number;
  throttleBurst: number;
  /** The dashboard's origin, the only one S3 CORS allows. */
  dashboardOrigin: string;
  amplify: boolean;
  tracing: boolean;
  /** Pages without a text layer are read by Textract (false: left unread, counted in COMPLETE). */
  ocr: boolean;
  /** Textract requests in flight at once in one worker. */
  textractConcurrency: number;
  /** An existing Cognito user pool whose tokens `$connect` accepts beside the API tokens. */
  cognito?: { userPoolId: string; clientId: string };
  /** The buckets scans may read (`s3://bucket/prefix` sources); none: uploads only. */
  sourceBuckets: string[];
  /** Where the alarms are mailed (the topic is there either way, for other subscriptions). */
  alarmEmail?: string;
}

/** Client actions of DESIGN.md, each its own route (API Gateway selects on `action`). */
export const ACTIONS = ["start_scan", "request_upload", "check_targets", "subscribe", "cancel_scan", "get_report", "ping"];

export class IsoscanStack extends Stack {
  constructor(scope: Construct, id: string, props: IsoscanProps) {
    super(scope, id, props);
    const arch = props.architecture === "arm64" ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;

    const table = new dynamodb.Table(this, "State", {
      partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
      sortKey: { name: "sk", type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: "ttl",
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Sessions not ended carry `open`: the sweeper's index holds them and nothing else, keys
    // only, so that counter writes never touch it.
    table.addGlobalSecondaryIndex({
      indexName: "open",
      partitionKey: { name: "open", type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });

    const bucket = new s3.Bucket(this, "Results", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      lifecycleRules: [
        { prefix: "uploads/", expiration: Duration.days(7) },
        { prefix: "reports/", expiration: Duration.days(30) },
        // Copies handed to Textract's asynchronous jobs; the worker deletes them when done.
        { prefix: "ocr/", expiration: Duration.days(1) },
      ],
      cors: [
        {
          allowedOrigins: [props.dashboardOrigin],
          allowedMethods: [s3.HttpMethods.PUT, s3.HttpMethods.GET],
          allowedHeaders: ["content-type", "content-length"],
          maxAge: 3000,
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Both start as JSON the functions read: no token (nobody connects) and no Drive key (Drive
    // off) until the operator puts one. Without a value CloudFormation would store a random
    // password, which no function can read.
    const tokens = new secrets.Secret(this, "ApiTokens", {
      description: 'isoscan API tokens: {"tokens": {"TOKEN": "principal"}} or {"tokens": {"TOKEN": {"principal": P, "sources": ["s3://bucket/prefix/"]}}}',
      secretStringValue: SecretValue.unsafePlainText(JSON.stringify({ tokens: {} })),
    });
    const drive = new secrets.Secret(this, "DriveCredentials", {
      description: "Google Drive service account key (JSON); {} leaves Drive off",
      secretStringValue: SecretValue.unsafePlainText("{}"),
    });

    // Signs the drawing links the link function checks: {"key": random}; rotate by putting
    // {"key": NEW, "previous": OLD}, and drop "previous" after 30 days (the links' lifetime).
    const linkKey = new secrets.Secret(this, "LinkKey", {
      description: "isoscan drawing-link signing key",
      generateSecretString: {
        secretStringTemplate: "{}",
        generateStringKey: "key",
        passwordLength: 64,
        excludePunctuation: true,
      },
    });

    const dlq = new sqs.Queue(this, "JobsDlq", {
      retentionPeriod: Duration.days(14),
      // The drain reads it: 6x its timeout, as for the main queue.
      visibilityTimeout: Duration.seconds(360),
      enforceSSL: true,
    });
    const queue = new sqs.Queue(this, "Jobs", {
      visibilityTimeout: Duration.seconds(props.workerTimeoutS * 6),
      deadLetterQueue: { queue: dlq, maxReceiveCount: 5 },
      enforceSSL: true,
    });

    const api = new apigwv2.WebSocketApi(this, "Socket", {
      routeSelectionExpression: "$request.body.action",
    });
    const stage = new apigwv2.WebSocketStage(this, "Live", {
      webSocketApi: api,
      stageName: "live",
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRate, burstLimit: props.throttleBurst },
    });

    const fn = (name: string, timeoutS: number, env: Record<string, string>) => {
      const logGroup = new logs.LogGroup(this, `${name}Logs`, {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      return new lambda.Function(this, name, {
        runtime: lambda.Runtime.PROVIDED_AL2023,
        architecture: arch,
        handler: "bootstrap",
        code: lambda.Code.fromAsset(path.join(props.lambdaDir, name, "bootstrap.zip")),
        memorySize: props.memoryMb,
        timeout: Duration.seconds(timeoutS),
        logGroup,
        tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
        environment: {
          TABLE_NAME: table.tableName,
          QUEUE_URL: queue.queueUrl,
          BUCKET_NAME: bucket.bucketName,
          CALLBACK_URL: stage.callbackUrl,
          ...env,
        },
      });
    };

    const sources = { SOURCE_BUCKETS: props.sourceBuckets.join(",") };
    // Drawing links in MATCH_FOUND and the report lead here: checked, then redirected to a GET
    // presigned at that moment, so they outlive the credentials of the function that made them.
    const link = fn("link", 10, { LINK_SECRET_ID: linkKey.secretArn, ...sources });
    const linkUrl = link.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    const links = { LINK_SECRET_ID: linkKey.secretArn, LINK_URL: linkUrl.url };
    const connect = fn("ws-connect", 10, {
      TOKENS_SECRET_ID: tokens.secretArn,
      // The pool's keys are public (its JWKS URL): no grant is needed to check its tokens.
      ...(props.cognito
        ? {
            COGNITO_ISSUER: `https://cognito-idp.${this.region}.amazonaws.com/${props.cognito.userPoolId}`,
            COGNITO_CLIENT_ID: props.cognito.clientId,
          }
        : {}),
    });
    const disconnect = fn("ws-disconnect", 10, {});
    // API Gateway answers within 29 s: the message handler never waits for a scan.
    // The message handler reads the tokens too: a token may hold its principal to some sources.
    const message = fn("ws-message", 29, {
      DRIVE_SECRET_ID: drive.secretArn,
      TOKENS_SECRET_ID: tokens.secretArn,
      ...sources,
      ...links,
    });
    const worker = fn("worker", props.workerTimeoutS, {
      DRIVE_SECRET_ID: drive.secretArn,
      ...sources,
      ...links,
      OCR: props.ocr ? "textract" : "off",
      TEXTRACT_CONCURRENCY: String(props.textractConcurrency),
      // A Textract job is given up before the function itself times out.
      TEXTRACT_JOB_TIMEOUT_S: String(Math.max(30, props.workerTimeoutS - 30)),
    });
    const drain = fn("dlq-drain", 60, {});
    // Every 5 minutes: scans a stopped worker left with every result in, or in FINALIZING for
    // 15 minutes, are moved on (SWEEP_IDLE_S).
    const sweeper = fn("sweeper", 60, { SWEEP_IDLE_S: "900" });
    new events.Rule(this, "Sweep", {
      schedule: events.Schedule.rate(Duration.minutes(5)),
      targets: [new targets.LambdaFunction(sweeper, { retryAttempts: 0 })],
    });

    // Each function may do what its code does, on what it does it to.
    for (const f of [connect, message]) tokens.grantRead(f);
    for (const f of [message, worker]) drive.grantRead(f);
    for (const f of [message, worker, link]) linkKey.grantRead(f);
    table.grant(connect, "dynamodb:PutItem");
    table.grant(disconnect, "dynamodb:GetItem", "dynamodb:DeleteItem");
    for (const f of [message, worker, drain]) {
      table.grantReadWriteData(f);
      queue.grantSendMessages(f);
      api.grantManageConnections(f);
    }
    // The sweeper reads sessions (through the index) and claims finalization; it sends jobs
    // and tells no client.
    table.grant(sweeper, "dynamodb:Query", "dynamodb:GetItem", "dynamodb:UpdateItem");
    queue.grantSendMessages(sweeper);
    const objects = (f: lambda.Function, actions: string[], prefixes: string[]) =>
      f.addToRolePolicy(new iam.PolicyStatement({ actions, resources: prefixes.map((p) => bucket.arnForObjects(`${p}*`)) }));
    const listing = (f: lambda.Function, prefixes: string[]) =>
      f.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ["s3:ListBucket"],
          resources: [bucket.bucketArn],
          conditions: { StringLike: { "s3:prefix": prefixes.map((p) => `${p}*`) } },
        }),
      );
    // Uploads: records and signed PUTs by the message handler, read by both; reports: written
    // by the worker, linked by both; `ocr/`: the worker's copies for Textract.
    objects(message, ["s3:GetObject", "s3:PutObject"], ["uploads/"]);
    objects(message, ["s3:GetObject"], ["reports/"]);
    objects(worker, ["s3:GetObject"], ["uploads/"]);
    objects(worker, ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], ["reports/"]);
    objects(worker, ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], ["ocr/"]);
    for (const f of [message, worker]) listing(f, ["uploads/"]);
    objects(link, ["s3:GetObject"], ["uploads/"]);
    // The sources: read only, the buckets the operator named and no other.
    if (props.sourceBuckets.length > 0) {
      for (const f of [message, worker]) {
        f.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ["s3:ListBucket"],
            resources: props.sourceBuckets.map((b) => `arn:${this.partition}:s3:::${b}`),
          }),
        );
      }
      for (const f of [message, worker, link]) {
        f.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ["s3:GetObject"],
            resources: props.sourceBuckets.map((b) => `arn:${this.partition}:s3:::${b}/*`),
          }),
        );
      }
    }
    if (props.ocr) {
      // Textract's text detection has no resource-level permissions: "*" is the only resource
      // these actions accept. The documents it reads are the worker's own `ocr/` copies.
      worker.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ["textract:DetectDocumentText", "textract:StartDocumentTextDetection", "textract:GetDocumentTextDetection"],
          resources: ["*"],
        }),
      );
    }
    worker.addEventSource(
      new SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: props.workerConcurrency }),
    );
    drain.addEventSource(new SqsEventSource(dlq, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 2 }));

    api.addRoute("$connect", { integration: new WebSocketLambdaIntegration("Connect", connect) });
    api.addRoute("$disconnect", { integration: new WebSocketLambdaIntegration("Disconnect", disconnect) });
    const messages = new WebSocketLambdaIntegration("Message", message);
    api.addRoute("$default", { integration: messages });
    for (const action of ACTIONS) api.addRoute(action, { integration: messages });

    new ssm.StringParameter(this, "SocketUrl", {
      parameterName: `/${this.stackName}/websocket-url`,
      stringValue: stage.url,
    });

    const alarms = new sns.Topic(this, "Alarms", { displayName: "isoscan alarms", enforceSSL: true });
    if (props.alarmEmail) alarms.addSubscription(new subs.EmailSubscription(props.alarmEmail));
    const alarm = (id: string, metric: cloudwatch.IMetric, threshold: number, what: string) =>
      new cloudwatch.Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: what,
      }).addAlarmAction(new cwactions.SnsAction(alarms));
    alarm("DlqNotEmpty", dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }), 0, "jobs reached the dead-letter queue");
    alarm("WorkerErrors", worker.metricErrors({ period: Duration.minutes(5) }), 0, "the worker failed");
    alarm("WorkerThrottles", worker.metricThrottles({ period: Duration.minutes(5) }), 0, "the worker was throttled");
    alarm("OldestJob", queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5) }), 900, "jobs wait over 15 minutes");

    new CfnOutput(this, "WebSocketURL", { value: stage.url });
    new CfnOutput(this, "ResultsBucketName", { value: bucket.bucketName });
    new CfnOutput(this, "ApiTokensSecret", { value: tokens.secretArn });
    new CfnOutput(this, "DriveSecret", { value: drive.secretArn });
    new CfnOutput(this, "AlarmTopic", { value: alarms.topicArn });
    new CfnOutput(this, "LinkUrl", { value: linkUrl.url });

    if (props.amplify) {
      const app = new amplify.CfnApp(this, "Dashboard", {
        name: "isoscan-dashboard",
        platform: "WEB",
        environmentVariables: [{ name: "VITE_WEBSOCKET_URL", value: stage.url }],
      });
      const branch = new amplify.CfnBranch(this, "DashboardMain", {
        appId: app.attrAppId,
        branchName: "main",
        stage: "PRODUCTION",
        environmentVariables: [{ name: "VITE_WEBSOCKET_URL", value: stage.url }],
      });
      new CfnOutput(this, "AmplifyAppUrl", { value: `https://${branch.branchName}.${app.attrDefaultDomain}` });
    }
  }
}
