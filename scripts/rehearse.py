"""Reads a stack deployed into moto back from the emulated account, as an operator's console
would show it, and writes it as JSON for the rehearsal test (crates/lambda/tests/rehearsal.rs).

    python3 scripts/rehearse.py ENDPOINT STACK TEMPLATE.json OUT.json

Fails when a resource the template declares was not created, unless it is one moto cannot
create (listed below with the reason).
"""

import json
import sys

import boto3

# Resource types moto's CloudFormation does not create, and why that does not change what the
# rehearsal shows.
NOT_CREATED = {
    "AWS::S3::BucketPolicy": "moto applies a bucket policy's statements without their "
    "conditions, so the TLS-only Deny would refuse every request; it is checked in the "
    "template tests (infra/test) instead",
    "AWS::CDK::Metadata": "the CDK's version report: no resource",
}


def main(endpoint: str, stack: str, template_path: str, out: str) -> None:
    kw = dict(
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    cfn = boto3.client("cloudformation", **kw)
    lam = boto3.client("lambda", **kw)
    sqs = boto3.client("sqs", **kw)
    template = json.load(open(template_path))
    declared = template["Resources"]
    desc = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    if desc["StackStatus"] != "CREATE_COMPLETE" and desc["StackStatus"] != "UPDATE_COMPLETE":
        sys.exit(f"stack {stack} is {desc['StackStatus']}")
    created = {
        r["LogicalResourceId"]: r
        for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]
        if "LogicalResourceId" in r
    }
    missing = []
    for logical, r in declared.items():
        if logical in created or r["Type"] in NOT_CREATED:
            continue
        missing.append(f"{logical} ({r['Type']})")
    if missing:
        sys.exit("declared but not created: " + ", ".join(missing))

    def queue(arn: str) -> dict:
        url = sqs.get_queue_url(QueueName=arn.split(":")[-1])["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attrs["RedrivePolicy"]) if "RedrivePolicy" in attrs else None
        return {
            "url": url,
            "arn": arn,
            "visibility_timeout": int(attrs["VisibilityTimeout"]),
            "redrive": redrive,
        }

    functions = {}
    for logical, r in declared.items():
        if r["Type"] != "AWS::Lambda::Function":
            continue
        # `Stack/ws-connect/Resource`: the construct is named after its binary.
        name = r["Metadata"]["aws:cdk:path"].split("/")[1]
        physical = created[logical]["PhysicalResourceId"]
        c = lam.get_function_configuration(FunctionName=physical)
        mappings = lam.list_event_source_mappings(FunctionName=physical)["EventSourceMappings"]
        functions[name] = {
            "function_name": c["FunctionName"],
            "role": c["Role"],
            "runtime": c.get("Runtime"),
            "handler": c.get("Handler"),
            "architectures": c.get("Architectures"),
            "memory_mb": c["MemorySize"],
            "timeout_s": c["Timeout"],
            "environment": c.get("Environment", {}).get("Variables", {}),
            "triggers": [
                {
                    "batch_size": m["BatchSize"],
                    "response_types": m.get("FunctionResponseTypes", []),
                    "max_concurrency": m.get("ScalingConfig", {}).get("MaximumConcurrency"),
                    "queue": queue(m["EventSourceArn"]),
                }
                for m in mappings
            ],
        }
    # (moto leaves a stack made from a change set without outputs.)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in desc.get("Outputs", [])}
    for name, f in functions.items():
        try:
            f["url"] = lam.get_function_url_config(FunctionName=f["function_name"])
        except lam.exceptions.ResourceNotFoundException:
            f["url"] = None
        if f["url"]:
            f["url"] = {"url": f["url"]["FunctionUrl"], "auth_type": f["url"]["AuthType"]}
    json.dump(
        {
            "stack": stack,
            "outputs": outputs,
            "functions": functions,
            "not_created": {
                logical: NOT_CREATED[r["Type"]]
                for logical, r in declared.items()
                if logical not in created and r["Type"] in NOT_CREATED
            },
            "resources": len(declared),
        },
        open(out, "w"),
        indent=1,
    )
    print(
        f"{stack}: {len(declared)} resources declared, "
        f"{len(declared) - sum(1 for l in declared if l not in created)} created, "
        f"{len(functions)} functions read back"
    )


if __name__ == "__main__":
    main(*sys.argv[1:5])
