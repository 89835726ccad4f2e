#!/usr/bin/env node
// The CDK app: every setting comes from context (cdk.json, or `-c name=value`).
import { App } from "aws-cdk-lib";
import { IsoscanStack } from "../lib/isoscan-stack";

const app = new App();
const ctx = (k: string) => app.node.tryGetContext(k);
const flag = (k: string) => ctx(k) === true || ctx(k) === "true";
new IsoscanStack(app, ctx("stackName") ?? "Isoscan", {
  lambdaDir: ctx("lambdaDir"),
  architecture: ctx("architecture") === "arm64" ? "arm64" : "x86_64",
  memoryMb: Number(ctx("memoryMb")),
  workerTimeoutS: Number(ctx("workerTimeoutS")),
  workerConcurrency: Number(ctx("workerConcurrency")),
  throttleRate: Number(ctx("throttleRate")),
  throttleBurst: Number(ctx("throttleBurst")),
  dashboardOrigin: ctx("dashboardOrigin"),
  amplify: flag("amplify"),
  tracing: flag("tracing"),
  ocr: !(ctx("ocr") === false || ctx("ocr") === "false" || ctx("ocr") === "off"),
  textractConcurrency: Number(ctx("textractConcurrency") ?? 4),
  sourceBuckets: String(ctx("sourceBuckets") ?? "")
    .split(",")
    .map((b) => b.trim().replace(/^s3:\/\//, "").replace(/\/+$/, ""))
    .filter((b) => b.length > 0),
  alarmEmail: ctx("alarmEmail") || undefined,
  cognito: ctx("cognitoUserPoolId")
    ? { userPoolId: ctx("cognitoUserPoolId"), clientId: ctx("cognitoClientId") }
    : undefined,
});
