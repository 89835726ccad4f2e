// The stack's template, checked with aws-cdk-lib/assertions.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { ACTIONS, IsoscanProps, IsoscanStack } from "../lib/isoscan-stack";

const BINARIES = ["ws-connect", "ws-disconnect", "ws-message", "worker", "dlq-drain", "link", "sweeper"];

/** A folder shaped like `cargo lambda build --output-format zip` output. */
function lambdaDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "isoscan-lambda-"));
  for (const b of BINARIES) {
    fs.mkdirSync(path.join(dir, b));
    fs.writeFileSync(path.join(dir, b, "bootstrap.zip"), `zip of ${b}`);
  }
  return dir;
}

function synth(over: Partial<IsoscanProps> = {}): Template {
  const app = new App();
  const stack = new IsoscanStack(app, "Test", {
    lambdaDir: lambdaDir(),
    architecture: "arm64",
    memoryMb: 1536,
    workerTimeoutS: 120,
    workerConcurrency: 40,
    throttleRate: 25,
    throttleBurst: 60,
    dashboardOrigin: "https://main.example.amplifyapp.com",
    amplify: false,
    tracing: false,
    ocr: true,
    textractConcurrency: 4,
    sourceBuckets: ["plant-a"],
    ...over,
  });
  return Template.fromStack(stack);
}

const t = synth();

test("DynamoDB: on demand, TTL, point-in-time recovery", () => {
  t.hasResourceProperties("AWS::DynamoDB::Table", {
    BillingMode: "PAY_PER_REQUEST",
    TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
    PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    KeySchema: [
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ],
  });
});

test("DynamoDB: the sweeper's index of scans not ended, keys only", () => {
  t.hasResourceProperties("AWS::DynamoDB::Table", {
    GlobalSecondaryIndexes: [
      {
        IndexName: "open",
        KeySchema: [{ AttributeName: "open", KeyType: "HASH" }],
        Projection: { ProjectionType: "KEYS_ONLY" },
      },
    ],
  });
});

test("the sweeper: every 5 minutes, reads sessions through the index, sends jobs, nothing else", () => {
  const rules = Object.values(t.findResources("AWS::Events::Rule"));
  assert.equal(rules.length, 1);
  assert.equal(rules[0].Properties.ScheduleExpression, "rate(5 minutes)");
  const target = JSON.stringify(rules[0].Properties.Targets);
  assert.match(target, /sweeper/);
  const permissions = Object.values(t.findResources("AWS::Lambda::Permission")).filter(
    (p: any) => p.Properties.Principal === "events.amazonaws.com",
  );
  assert.equal(permissions.length, 1);
  const actions = actionsOf(statementsOf(t, "sweeper"));
  assert.deepEqual(
    actions.filter((a) => !a.startsWith("logs:") && !a.startsWith("xray:")).sort(),
    ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
  );
  const resources = JSON.stringify(statementsOf(t, "sweeper").filter((s: any) => JSON.stringify(s.Action).includes("dynamodb")));
  assert.match(resources, /index\/\*/, "the index is a resource of the grant");
});

test("S3: private, encrypted, TLS only, expiring, CORS for the dashboard only", () => {
  t.hasResourceProperties("AWS::S3::Bucket", {
    PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] },
    LifecycleConfiguration: {
      Rules: Match.arrayWith([
        Match.objectLike({ Prefix: "uploads/", ExpirationInDays: 7, Status: "Enabled" }),
        Match.objectLike({ Prefix: "reports/", ExpirationInDays: 30, Status: "Enabled" }),
        Match.objectLike({ Prefix: "ocr/", ExpirationInDays: 1, Status: "Enabled" }),
      ]),
    },
    CorsConfiguration: { CorsRules: [Match.objectLike({ AllowedOrigins: ["https://main.example.amplifyapp.com"] })] },
  });
  t.hasResourceProperties("AWS::S3::BucketPolicy", {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
      ]),
    },
  });
});

test("SQS: dead-letter queue after 5 receives, visibility 6x the worker timeout", () => {
  t.hasResourceProperties("AWS::SQS::Queue", {
    VisibilityTimeout: 720,
    RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: Match.anyValue() },
  });
  t.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
    FunctionResponseTypes: ["ReportBatchItemFailures"],
    ScalingConfig: { MaximumConcurrency: 40 },
    BatchSize: 10,
  });
  t.resourceCountIs("AWS::Lambda::EventSourceMapping", 2);
});

test("Lambdas: provided.al2023, the architecture and memory given, logs kept a month", () => {
  const fns = t.findResources("AWS::Lambda::Function");
  const ours = Object.values(fns).filter((f) => f.Properties.Runtime === "provided.al2023");
  assert.equal(ours.length, BINARIES.length);
  for (const f of ours) {
    assert.deepEqual(f.Properties.Architectures, ["arm64"]);
    assert.equal(f.Properties.MemorySize, 1536);
    assert.equal(f.Properties.Handler, "bootstrap");
    assert.ok(f.Properties.Environment.Variables.CALLBACK_URL, "management endpoint passed");
  }
  t.resourcePropertiesCountIs("AWS::Logs::LogGroup", { RetentionInDays: 30 }, BINARIES.length);
  const x86 = synth({ architecture: "x86_64" }).findResources("AWS::Lambda::Function");
  assert.ok(Object.values(x86).some((f) => JSON.stringify(f.Properties.Architectures) === '["x86_64"]'));
});

test("WebSocket API: connect, disconnect, default and one route per action; a throttled stage", () => {
  t.hasResourceProperties("AWS::ApiGatewayV2::Api", { ProtocolType: "WEBSOCKET", RouteSelectionExpression: "$request.body.action" });
  const routes = Object.values(t.findResources("AWS::ApiGatewayV2::Route")).map((r) => r.Properties.RouteKey).sort();
  assert.deepEqual(routes, ["$connect", "$default", "$disconnect", ...ACTIONS].sort());
  t.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
    DefaultRouteSettings: { ThrottlingRateLimit: 25, ThrottlingBurstLimit: 60 },
  });
  t.hasResourceProperties("AWS::SSM::Parameter", { Type: "String" });
});

test("alarms: dead letters, worker errors, throttles, oldest job; each tells the topic", () => {
  t.resourceCountIs("AWS::CloudWatch::Alarm", 4);
  const topic = Object.keys(t.findResources("AWS::SNS::Topic"));
  assert.equal(topic.length, 1);
  for (const a of Object.values(t.findResources("AWS::CloudWatch::Alarm")) as any[]) {
    assert.deepEqual(a.Properties.AlarmActions, [{ Ref: topic[0] }]);
  }
  t.resourceCountIs("AWS::SNS::Subscription", 0);
  synth({ alarmEmail: "ops@example.com" }).hasResourceProperties("AWS::SNS::Subscription", {
    Protocol: "email",
    Endpoint: "ops@example.com",
  });
  t.hasResourceProperties("AWS::CloudWatch::Alarm", { MetricName: "ApproximateNumberOfMessagesVisible", Threshold: 0 });
  t.hasResourceProperties("AWS::CloudWatch::Alarm", { MetricName: "Errors" });
  t.hasResourceProperties("AWS::CloudWatch::Alarm", { MetricName: "Throttles" });
  t.hasResourceProperties("AWS::CloudWatch::Alarm", { MetricName: "ApproximateAgeOfOldestMessage", Threshold: 900 });
});

test("least privilege: no * action anywhere, no * resource but Textract's", () => {
  const policies = t.findResources("AWS::IAM::Policy");
  assert.ok(Object.keys(policies).length >= BINARIES.length);
  for (const [id, p] of Object.entries(policies)) {
    for (const s of p.Properties.PolicyDocument.Statement) {
      const actions = [s.Action].flat();
      const resources = [s.Resource].flat();
      assert.ok(!actions.includes("*"), `${id}: Action *`);
      // Textract's text detection takes no resource but "*".
      const textract = actions.every((a: string) => a.startsWith("textract:"));
      assert.ok(textract || !resources.includes("*"), `${id}: Resource * for ${actions.join(",")}`);
    }
  }
  // The connect and message handlers read the API tokens (a token may hold its principal to
  // some sources); no other.
  const readers = Object.values(policies).filter((p) => JSON.stringify(p).includes("ApiTokens"));
  assert.equal(readers.length, 2);
});

/** The statements of the policy attached to the function whose logical id starts with `name`. */
function statementsOf(tpl: Template, name: string): any[] {
  const fns = tpl.findResources("AWS::Lambda::Function") as Record<string, any>;
  const [, fn] = Object.entries(fns).find(([id]) => id.startsWith(name.replace(/-/g, ""))) ?? [];
  assert.ok(fn, `function ${name}`);
  const role = fn.Properties.Role["Fn::GetAtt"][0];
  const policies = Object.values(tpl.findResources("AWS::IAM::Policy")) as any[];
  return policies
    .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === role))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

const actionsOf = (statements: any[]) => statements.flatMap((s) => [s.Action].flat()).sort();

test("least privilege: each function's actions are those its code makes", () => {
  assert.deepEqual(actionsOf(statementsOf(t, "ws-connect")).filter((a) => a.startsWith("dynamodb:")), ["dynamodb:PutItem"]);
  assert.deepEqual(actionsOf(statementsOf(t, "ws-disconnect")), ["dynamodb:DeleteItem", "dynamodb:GetItem"]);
  const drain = actionsOf(statementsOf(t, "dlq-drain"));
  assert.ok(!drain.some((a) => a.startsWith("s3:")), `the drain touches no object: ${drain}`);
  assert.ok(!drain.some((a) => a.startsWith("secretsmanager:")));
  // No function may write a source bucket or read the results bucket's every object.
  for (const name of BINARIES) {
    for (const s of statementsOf(t, name)) {
      const text = JSON.stringify(s.Resource);
      if (text.includes("plant-a")) {
        assert.ok([s.Action].flat().every((a: string) => a === "s3:GetObject" || a === "s3:ListBucket"), `${name} writes a source: ${JSON.stringify(s)}`);
      }
      if ([s.Action].flat().includes("s3:GetObject") && text.includes("Results")) {
        assert.match(text, /(uploads|reports|ocr)\/\*/, `${name} reads the whole results bucket: ${text}`);
      }
    }
  }
});

test("sources: only the buckets named, for the message handler and the worker", () => {
  const sourceReads = (tpl: Template, name: string) =>
    statementsOf(tpl, name).filter((s) => JSON.stringify(s.Resource).includes("arn:"));
  for (const name of ["ws-message", "worker"]) {
    const named = statementsOf(t, name).filter((s) => JSON.stringify(s.Resource).includes("plant-a"));
    assert.deepEqual(actionsOf(named), ["s3:GetObject", "s3:ListBucket"], name);
  }
  const linkReads = statementsOf(t, "link").filter((s) => JSON.stringify(s.Resource).includes("plant-a"));
  assert.deepEqual(actionsOf(linkReads), ["s3:GetObject"]);
  const none = synth({ sourceBuckets: [] });
  for (const name of BINARIES) {
    assert.ok(!JSON.stringify(statementsOf(none, name)).includes("plant-a"));
    assert.ok(sourceReads(none, name).every((s) => !JSON.stringify(s).includes(":s3:::")), name);
  }
  const fns = Object.values(t.findResources("AWS::Lambda::Function")) as any[];
  const told = fns.filter((f) => f.Properties.Environment.Variables.SOURCE_BUCKETS !== undefined);
  assert.equal(told.length, 3);
  for (const f of told) assert.equal(f.Properties.Environment.Variables.SOURCE_BUCKETS, "plant-a");
});

test("secrets start as JSON the functions read: no token, no Drive key", () => {
  const secrets = Object.values(t.findResources("AWS::SecretsManager::Secret")) as any[];
  const linkKey = secrets.filter((s) => s.Properties.Description.includes("link"));
  assert.equal(linkKey.length, 1);
  // The link key is generated, as JSON: {"key": 64 random letters and digits}.
  assert.deepEqual(linkKey[0].Properties.GenerateSecretString, {
    SecretStringTemplate: "{}",
    GenerateStringKey: "key",
    PasswordLength: 64,
    ExcludePunctuation: true,
  });
  secrets.splice(secrets.indexOf(linkKey[0]), 1);
  assert.equal(secrets.length, 2);
  for (const s of secrets) {
    assert.equal(s.Properties.GenerateSecretString, undefined, "a generated value is a password, not JSON");
    JSON.parse(s.Properties.SecretString);
  }
  const values = secrets.map((s) => JSON.parse(s.Properties.SecretString));
  assert.deepEqual(values.sort((a, b) => JSON.stringify(a).length - JSON.stringify(b).length), [{}, { tokens: {} }]);
});

test("outputs; Amplify only when asked, with the socket URL injected", () => {
  t.hasOutput("WebSocketURL", {});
  t.hasOutput("ResultsBucketName", {});
  t.resourceCountIs("AWS::Amplify::App", 0);
  const withAmplify = synth({ amplify: true });
  withAmplify.hasResourceProperties("AWS::Amplify::App", {
    EnvironmentVariables: [Match.objectLike({ Name: "VITE_WEBSOCKET_URL" })],
  });
  withAmplify.hasResourceProperties("AWS::Amplify::Branch", { BranchName: "main" });
  withAmplify.hasOutput("AmplifyAppUrl", {});
});

test("Cognito: only the connect function learns the pool and client, and only when given", () => {
  const withPool = synth({ cognito: { userPoolId: "eu-west-1_Abc123", clientId: "dashboardclient" } });
  const fns = Object.values(withPool.findResources("AWS::Lambda::Function")) as any[];
  const told = fns.filter((f) => f.Properties.Environment?.Variables?.COGNITO_CLIENT_ID);
  assert.equal(told.length, 1);
  const vars = told[0].Properties.Environment.Variables;
  assert.equal(vars.COGNITO_CLIENT_ID, "dashboardclient");
  assert.ok(JSON.stringify(vars.COGNITO_ISSUER).includes("eu-west-1_Abc123"));
  assert.ok(vars.TOKENS_SECRET_ID, "the connect function");
  const without = Object.values(t.findResources("AWS::Lambda::Function")) as any[];
  assert.equal(without.filter((f) => f.Properties.Environment?.Variables?.COGNITO_ISSUER).length, 0);
});

test("OCR: only the worker may call Textract, with its limits; ocr=off takes both away", () => {
  const fns = t.findResources("AWS::Lambda::Function") as Record<string, any>;
  const withOcr = Object.entries(fns).filter(([, f]) => f.Properties.Environment?.Variables?.OCR);
  assert.equal(withOcr.length, 1);
  const [workerId, worker] = withOcr[0];
  const vars = worker.Properties.Environment.Variables;
  assert.equal(vars.OCR, "textract");
  assert.equal(vars.TEXTRACT_CONCURRENCY, "4");
  assert.equal(vars.TEXTRACT_JOB_TIMEOUT_S, "90");
  const policies = Object.values(t.findResources("AWS::IAM::Policy")) as any[];
  const callers = policies.filter((p) => JSON.stringify(p).includes("textract:"));
  assert.equal(callers.length, 1);
  const role = worker.Properties.Role["Fn::GetAtt"][0];
  assert.ok(callers[0].Properties.Roles.some((r: any) => r.Ref === role), `the worker (${workerId}) calls Textract`);
  const actions = callers[0].Properties.PolicyDocument.Statement.flatMap((s: any) => [s.Action].flat());
  assert.deepEqual(
    actions.filter((a: string) => a.startsWith("textract:")).sort(),
    ["textract:DetectDocumentText", "textract:GetDocumentTextDetection", "textract:StartDocumentTextDetection"],
  );
  const off = synth({ ocr: false });
  const offFns = Object.values(off.findResources("AWS::Lambda::Function")) as any[];
  assert.deepEqual(offFns.map((f) => f.Properties.Environment?.Variables?.OCR).filter(Boolean), ["off"]);
  assert.ok(!JSON.stringify(off.findResources("AWS::IAM::Policy")).includes("textract:"));
});

test("cfn-lint finds no error in the template (warnings are CDK's own redundant DependsOn)", () => {
  for (const [name, tpl] of [
    ["default", t],
    ["with alarm mail, Amplify and no source", synth({ alarmEmail: "ops@example.com", amplify: true, sourceBuckets: [] })],
  ] as const) {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "isoscan-cfn-")), "template.json");
    fs.writeFileSync(file, JSON.stringify(tpl.toJSON()));
    const run = spawnSync("cfn-lint", ["--format", "parseable", file], { encoding: "utf8" });
    assert.ok(!run.error, `cfn-lint cannot run (python3 -m pip install cfn-lint): ${run.error}`);
    // Exit status bits: 2 errors, 4 warnings, 8 informational.
    const errors = run.stdout.split("\n").filter((l) => /:E\d+:/.test(l));
    assert.deepEqual(errors, [], `${name}: ${run.stdout}${run.stderr}`);
    assert.equal(run.status! & 2, 0, `${name}: ${run.stdout}${run.stderr}`);
    assert.equal(run.status! & 1, 0, `${name}: cfn-lint failed: ${run.stderr}`);
  }
});

test("links: a public function URL that only reads, named to the functions that make links", () => {
  t.hasResourceProperties("AWS::Lambda::Url", { AuthType: "NONE" });
  const fns = t.findResources("AWS::Lambda::Function") as Record<string, any>;
  const makers = Object.entries(fns).filter(([, f]) => f.Properties.Environment.Variables.LINK_URL);
  assert.deepEqual(makers.map(([id]) => id.replace(/[0-9A-F]{8}$/, "")).sort(), ["worker", "wsmessage"]);
  const actions = actionsOf(statementsOf(t, "link"));
  assert.deepEqual([...new Set(actions)].sort(), ["s3:GetObject", "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]);
  t.hasOutput("LinkUrl", {});
});
