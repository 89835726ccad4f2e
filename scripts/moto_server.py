"""moto's server with the few behaviours of the real services that moto leaves out.

Used by the tests (scripts/test.sh and crates/aws's test support) instead of
`python3 -m moto.server`; takes the same arguments.

- API Gateway Management API: posting to a connection that was deleted answers 410
  GoneException, as API Gateway does for a closed connection (moto accepts any id). A
  connection whose id starts with `throttled-` is refused with 429 LimitExceededException on its
  first four posts: more than the SDK's own three attempts, so a client's retries can be seen.
  What each connection was sent, in order, is listed by
  `GET /moto-api/static/apigateway/posted?connection=ID` (`{"messages": [text, ...]}`): only
  posts the service accepted, each once. (moto's request recorder is no use for this: it writes
  each request in several appends, so requests recorded by concurrent threads can run into one
  another's lines.)
- DynamoDB: requests are served one at a time. On moto's threads a write and its condition
  were not one step: two of eight racing finalize claims both won, and an `ADD` to a scan's
  counter was lost (the scan stayed at 9 of 10 files with all 10 results in). A transaction
  keeps a copy of the items it names to put back if it fails, not of its whole tables: moto
  deep-copies every table a transaction touches, so each write cost more as a table grew
  (5,000 transactions on one table took 14 minutes and 19 GB).
- Textract: moto answers every document with one fixed, malformed result (`DocumentMetadata`
  of the wrong shape, no paging, jobs finished at once). Here a test says what Textract reads
  in a document, by the SHA-256 of its bytes, with `POST /moto-api/static/textract/results`
  `{"documents": {SHA256: [[lines of page 1], [lines of page 2], ...]}, "in_progress": N,
  "busy": N, "page_size": N}`: jobs answer IN_PROGRESS to their first N polls, the next N
  requests are refused with ProvisionedThroughputExceededException, results come in pages of
  `page_size` blocks. Documents are checked as Textract checks them (a PDF, PNG, JPEG or TIFF;
  10 MB and one page for DetectDocumentText, 10 MB for a PNG or JPEG in a job, the object present
  in S3 for a job; pictures of at most 10,000 pixels a side, refused here as
  BadDocumentException). `GET` on the same path lists the requests received.
"""

import json
import sys
import threading
from collections import defaultdict

from moto.apigatewaymanagementapi import models as apigw
from moto.core.exceptions import JsonRESTError


class GoneException(JsonRESTError):
    code = 410

    def __init__(self, connection_id: str) -> None:
        super().__init__("GoneException", f"connection {connection_id} is gone")


class LimitExceededException(JsonRESTError):
    code = 429

    def __init__(self) -> None:
        super().__init__("LimitExceededException", "rate exceeded")


_gone: set = set()
_refusals: dict = defaultdict(int)
_posted: dict = defaultdict(list)
_posted_lock = threading.Lock()
_delete = apigw.ApiGatewayManagementApiBackend.delete_connection
_post = apigw.ApiGatewayManagementApiBackend.post_to_connection


def delete_connection(self, connection_id: str) -> None:
    _gone.add(connection_id)
    _delete(self, connection_id)


def post_to_connection(self, data: bytes, connection_id: str) -> None:
    if connection_id in _gone:
        raise GoneException(connection_id)
    if connection_id.startswith("throttled-") and _refusals[connection_id] < 4:
        _refusals[connection_id] += 1
        raise LimitExceededException()
    _post(self, data, connection_id)
    with _posted_lock:
        _posted[connection_id].append(data)


def posted(request, full_url, headers):
    connection = request.args.get("connection", "")
    with _posted_lock:
        messages = [d.decode("utf-8", "replace") for d in _posted.get(connection, [])]
    return 200, {}, json.dumps({"messages": messages})


apigw.ApiGatewayManagementApiBackend.delete_connection = delete_connection
apigw.ApiGatewayManagementApiBackend.post_to_connection = post_to_connection


# --- Textract ---------------------------------------------------------------------------

import base64
import hashlib
import re
import uuid

from moto.textract import responses as textract

_textract = {"documents": {}, "in_progress": 0, "busy": 0, "page_size": 1000}
_textract_calls: list = []
_textract_jobs: dict = {}
_textract_tokens: dict = {}
_textract_lock = threading.Lock()


class TextractError(JsonRESTError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(name, message)


def _kind(data: bytes):
    if data.startswith(b"%PDF"):
        return "pdf"
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return None


def _picture_sides(kind, data: bytes):
    """Width and height of each picture of a PNG, JPEG or TIFF file, from its headers."""
    import struct

    if kind == "png" and len(data) >= 24:
        return [struct.unpack(">II", data[16:24])]
    if kind == "jpeg":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            m = data[i + 1]
            if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return [(w, h)]
            if m in (0xD8, 0x01) or 0xD0 <= m <= 0xD7 or m == 0xFF:
                i += 2 if m != 0xFF else 1
                continue
            i += 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
        return []
    if kind == "tiff":
        e = "<" if data[:2] == b"II" else ">"
        (ifd,) = struct.unpack(e + "I", data[4:8])
        sides = []
        while 0 < ifd < len(data) - 2 and len(sides) < 10000:
            (n,) = struct.unpack(e + "H", data[ifd : ifd + 2])
            size = {}
            for k in range(n):
                at = ifd + 2 + 12 * k
                tag, typ = struct.unpack(e + "HH", data[at : at + 4])
                if tag in (256, 257):
                    fmt = e + ("H" if typ == 3 else "I")
                    size[tag] = struct.unpack(fmt, data[at + 8 : at + 8 + struct.calcsize(fmt)])[0]
            sides.append((size.get(256, 0), size.get(257, 0)))
            (ifd,) = struct.unpack(e + "I", data[ifd + 2 + 12 * n : ifd + 6 + 12 * n])
        return sides
    return []


def _check_pictures(kind, data: bytes) -> None:
    # "Amazon Textract supports images with a resolution less than or equal to 10000 pixels on
    # all sides."
    if any(max(w, h) > 10000 for w, h in _picture_sides(kind, data)):
        raise TextractError("BadDocumentException", "Request has an image over 10000 pixels a side")


def _pdf_pages(data: bytes) -> int:
    return max(1, len(re.findall(rb"/Type\s*/Page(?![s\w])", data)))


def _busy() -> None:
    with _textract_lock:
        if _textract["busy"] > 0:
            _textract["busy"] -= 1
            raise TextractError(
                "ProvisionedThroughputExceededException", "Provisioned rate exceeded"
            )


def _blocks(data: bytes, pages: int):
    read = _textract["documents"].get(hashlib.sha256(data).hexdigest(), [])
    blocks = []
    for n in range(1, pages + 1):
        lines = read[n - 1] if n - 1 < len(read) else []
        blocks.append({"BlockType": "PAGE", "Id": str(uuid.uuid4()), "Page": n, "Confidence": 99.0})
        for line in lines:
            blocks.append(
                {"BlockType": "LINE", "Id": str(uuid.uuid4()), "Page": n, "Text": line, "Confidence": 95.0}
            )
    return blocks


def detect_document_text(self) -> str:
    params = json.loads(self.body)
    data = base64.b64decode(params.get("Document", {}).get("Bytes", ""))
    with _textract_lock:
        _textract_calls.append({"action": "DetectDocumentText", "bytes": len(data)})
    _busy()
    kind = _kind(data)
    if kind is None:
        raise TextractError("UnsupportedDocumentException", "Request has unsupported document format")
    if len(data) > 10 * 1024 * 1024:
        raise TextractError("DocumentTooLargeException", "S3 object size is more than the maximum limit")
    if kind == "pdf" and _pdf_pages(data) > 1:
        raise TextractError("UnsupportedDocumentException", "Request has unsupported document format")
    _check_pictures(kind, data)
    return json.dumps(
        {
            "DocumentMetadata": {"Pages": 1},
            "Blocks": _blocks(data, 1),
            "DetectDocumentTextModelVersion": "1.0",
        }
    )


def _s3_object(account: str, bucket: str, key: str) -> bytes:
    from moto.s3.models import s3_backends

    backend = s3_backends[account]["aws"]
    try:
        return backend.get_object(bucket, key).value
    except Exception:
        raise TextractError("InvalidS3ObjectException", "Unable to get object metadata from S3")


def start_document_text_detection(self) -> str:
    params = json.loads(self.body)
    s3 = params.get("DocumentLocation", {}).get("S3Object", {})
    token = params.get("ClientRequestToken")
    with _textract_lock:
        _textract_calls.append(
            {"action": "StartDocumentTextDetection", "bucket": s3.get("Bucket"), "key": s3.get("Name")}
        )
        if token and token in _textract_tokens:
            return json.dumps({"JobId": _textract_tokens[token]})
    _busy()
    data = _s3_object(self.current_account, s3.get("Bucket", ""), s3.get("Name", ""))
    kind = _kind(data)
    if kind is None:
        raise TextractError("UnsupportedDocumentException", "Request has unsupported document format")
    if kind in ("png", "jpeg") and len(data) > 10 * 1024 * 1024:
        raise TextractError("DocumentTooLargeException", "S3 object size is more than the maximum limit")
    _check_pictures(kind, data)
    pages = _pdf_pages(data) if kind == "pdf" else len(_picture_sides(kind, data)) if kind == "tiff" else 1
    job = str(uuid.uuid4())
    with _textract_lock:
        _textract_jobs[job] = {"polls": _textract["in_progress"], "pages": pages, "blocks": _blocks(data, pages)}
        if token:
            _textract_tokens[token] = job
    return json.dumps({"JobId": job})


def get_document_text_detection(self) -> str:
    params = json.loads(self.body)
    job_id = params.get("JobId")
    with _textract_lock:
        _textract_calls.append({"action": "GetDocumentTextDetection", "job": job_id})
    _busy()
    with _textract_lock:
        job = _textract_jobs.get(job_id)
        if job is None:
            raise TextractError("InvalidJobIdException", "An invalid job identifier was passed.")
        meta = {"DocumentMetadata": {"Pages": job["pages"]}, "DetectDocumentTextModelVersion": "1.0"}
        if job["polls"] > 0:
            job["polls"] -= 1
            return json.dumps({"JobStatus": "IN_PROGRESS", **meta})
        size = min(int(params.get("MaxResults") or 1000), int(_textract["page_size"]))
        start = int(params.get("NextToken") or 0)
        out = {"JobStatus": "SUCCEEDED", "Blocks": job["blocks"][start : start + size], **meta}
        if start + size < len(job["blocks"]):
            out["NextToken"] = str(start + size)
        return json.dumps(out)


def textract_results(request, full_url, headers):
    if request.method == "GET":
        with _textract_lock:
            return 200, {}, json.dumps({"calls": _textract_calls})
    body = json.loads(request.data or b"{}")
    with _textract_lock:
        _textract["documents"].update(body.get("documents", {}))
        for k in ("in_progress", "busy", "page_size"):
            if k in body:
                _textract[k] = body[k]
        if body.get("reset_calls"):
            _textract_calls.clear()
    return 201, {}, ""


textract.TextractResponse.detect_document_text = detect_document_text
textract.TextractResponse.start_document_text_detection = start_document_text_detection
textract.TextractResponse.get_document_text_detection = get_document_text_detection

# --- CloudFormation ----------------------------------------------------------------------

from urllib.parse import urlparse  # noqa: E402

from moto.cloudformation import responses as cfn_responses  # noqa: E402
from moto.cloudformation import utils as cfn_utils  # noqa: E402

_stack_from_s3_url = cfn_utils.get_stack_from_s3_url


def get_stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
    # moto reads a path-style template URL only on "localhost"; `cdk deploy` pointed at this
    # server by `AWS_ENDPOINT_URL=http://127.0.0.1:PORT` hands it that address instead.
    parts = urlparse(template_url)
    if parts.hostname == "127.0.0.1":
        template_url = template_url.replace(parts.netloc, f"localhost:{parts.port}", 1)
    return _stack_from_s3_url(template_url, account_id, partition)


cfn_responses.get_stack_from_s3_url = get_stack_from_s3_url


from moto.core.common_models import CloudFormationModel  # noqa: E402


class _Resource:
    """A resource moto's CloudFormation does not create, made through the service's own backend
    so that the deployed stack can be used as it would be on AWS. (moto finds the models by
    `CloudFormationModel.__subclasses__()`: each names it as a direct base, and the module moto
    files it under.)"""

    def __init__(self, physical_id: str, attributes: dict) -> None:
        self.physical_id = physical_id
        self.attributes = attributes

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str):
        if attribute_name not in self.attributes:
            from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

            raise UnformattedGetAttTemplateException()
        return self.attributes[attribute_name]

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        pass


class _Secret(_Resource, CloudFormationModel):
    __module__ = "moto.cloudformation.isoscan"

    """AWS::SecretsManager::Secret: `SecretString` as given; `GenerateSecretString` a random
    password (`{}`: 32 characters of every kind), or, with `SecretStringTemplate` and
    `GenerateStringKey`, that JSON with the password under the key; neither: no value."""

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        from moto.secretsmanager.models import secretsmanager_backends

        backend = secretsmanager_backends[account_id][region_name]
        props = cloudformation_json.get("Properties", {})
        value = props.get("SecretString")
        gen = props.get("GenerateSecretString")
        if value is None and gen is not None:
            password = backend.get_random_password(
                password_length=int(gen.get("PasswordLength", 32)),
                exclude_characters=gen.get("ExcludeCharacters", ""),
                exclude_numbers=bool(gen.get("ExcludeNumbers", False)),
                exclude_punctuation=bool(gen.get("ExcludePunctuation", False)),
                exclude_uppercase=bool(gen.get("ExcludeUppercase", False)),
                exclude_lowercase=bool(gen.get("ExcludeLowercase", False)),
                include_space=bool(gen.get("IncludeSpace", False)),
                require_each_included_type=bool(gen.get("RequireEachIncludedType", True)),
            )
            password = json.loads(password)["RandomPassword"]
            if "SecretStringTemplate" in gen and "GenerateStringKey" in gen:
                doc = json.loads(gen["SecretStringTemplate"])
                doc[gen["GenerateStringKey"]] = password
                value = json.dumps(doc)
            else:
                value = password
        name = props.get("Name") or f"{resource_name}-{uuid.uuid4().hex[:6]}"
        created = json.loads(
            backend.create_secret(
                name=name,
                secret_string=value,
                secret_binary=None,
                description=props.get("Description"),
                tags=props.get("Tags"),
                kms_key_id=props.get("KmsKeyId"),
                client_request_token=None,
                replica_regions=[],
                force_overwrite=False,
            )
        )
        return cls(created["ARN"], {"Id": created["ARN"]})


def _apigw(account_id: str, region_name: str):
    from moto.apigatewayv2.models import apigatewayv2_backends

    return apigatewayv2_backends[account_id][region_name]


class _Api(_Resource, CloudFormationModel):
    __module__ = "moto.cloudformation.isoscan"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Api"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json.get("Properties", {})
        api = _apigw(account_id, region_name).create_api(
            api_key_selection_expression=p.get("ApiKeySelectionExpression"),
            cors_configuration=p.get("CorsConfiguration"),
            description=p.get("Description"),
            disable_schema_validation=p.get("DisableSchemaValidation"),
            disable_execute_api_endpoint=p.get("DisableExecuteApiEndpoint"),
            name=p.get("Name", resource_name),
            protocol_type=p.get("ProtocolType"),
            route_selection_expression=p.get("RouteSelectionExpression"),
            tags=p.get("Tags", {}),
            version=p.get("Version"),
        )
        endpoint = f"{'wss' if p.get('ProtocolType') == 'WEBSOCKET' else 'https'}://{api.api_id}.execute-api.{region_name}.amazonaws.com"
        return cls(api.api_id, {"ApiId": api.api_id, "ApiEndpoint": endpoint})


class _Integration(_Resource, CloudFormationModel):
    __module__ = "moto.cloudformation.isoscan"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Integration"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json.get("Properties", {})
        i = _apigw(account_id, region_name).create_integration(
            api_id=p["ApiId"],
            connection_id=p.get("ConnectionId"),
            connection_type=p.get("ConnectionType"),
            content_handling_strategy=p.get("ContentHandlingStrategy"),
            credentials_arn=p.get("CredentialsArn"),
            description=p.get("Description"),
            integration_method=p.get("IntegrationMethod"),
            integration_subtype=p.get("IntegrationSubtype"),
            integration_type=p.get("IntegrationType"),
            integration_uri=p.get("IntegrationUri"),
            passthrough_behavior=p.get("PassthroughBehavior"),
            payload_format_version=p.get("PayloadFormatVersion"),
            request_parameters=p.get("RequestParameters"),
            request_templates=p.get("RequestTemplates"),
            response_parameters=p.get("ResponseParameters"),
            template_selection_expression=p.get("TemplateSelectionExpression"),
            timeout_in_millis=p.get("TimeoutInMillis"),
            tls_config=p.get("TlsConfig"),
        )
        return cls(i.id, {"IntegrationId": i.id})


class _Route(_Resource, CloudFormationModel):
    __module__ = "moto.cloudformation.isoscan"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Route"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json.get("Properties", {})
        r = _apigw(account_id, region_name).create_route(
            api_id=p["ApiId"],
            api_key_required=bool(p.get("ApiKeyRequired", False)),
            authorization_scopes=p.get("AuthorizationScopes"),
            authorization_type=p.get("AuthorizationType"),
            authorizer_id=p.get("AuthorizerId"),
            model_selection_expression=p.get("ModelSelectionExpression"),
            operation_name=p.get("OperationName"),
            request_models=p.get("RequestModels"),
            request_parameters=p.get("RequestParameters"),
            route_key=p["RouteKey"],
            route_response_selection_expression=p.get("RouteResponseSelectionExpression"),
            target=p.get("Target"),
        )
        return cls(r.route_id, {"RouteId": r.route_id})


class _Stage(_Resource, CloudFormationModel):
    __module__ = "moto.cloudformation.isoscan"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Stage"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json.get("Properties", {})
        # The API's own field names, first letter lower-cased.
        config = {k[0].lower() + k[1:]: v for k, v in p.items() if k != "ApiId"}
        config["defaultRouteSettings"] = {
            k[0].lower() + k[1:]: v for k, v in p.get("DefaultRouteSettings", {}).items()
        }
        stage = _apigw(account_id, region_name).create_stage(p["ApiId"], config)
        return cls(stage.name, {})


class _QueuePolicy(_Resource, CloudFormationModel):
    __module__ = "moto.cloudformation.isoscan"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        from moto.sqs.models import sqs_backends

        p = cloudformation_json.get("Properties", {})
        backend = sqs_backends[account_id][region_name]
        for url in p.get("Queues", []):
            backend.set_queue_attributes(url.rsplit("/", 1)[-1], {"Policy": json.dumps(p["PolicyDocument"])})
        return cls(f"{resource_name}-{uuid.uuid4().hex[:8]}", {})


class _Alarm(_Resource, CloudFormationModel):
    __module__ = "moto.cloudformation.isoscan"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        from moto.cloudwatch.models import cloudwatch_backends

        p = cloudformation_json.get("Properties", {})
        name = p.get("AlarmName") or resource_name
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=name,
            namespace=p.get("Namespace"),
            metric_name=p.get("MetricName"),
            comparison_operator=p.get("ComparisonOperator"),
            evaluation_periods=int(p.get("EvaluationPeriods", 1)),
            period=int(p.get("Period", 60)),
            threshold=float(p.get("Threshold", 0)),
            statistic=p.get("Statistic"),
            description=p.get("AlarmDescription"),
            dimensions=p.get("Dimensions", []),
            alarm_actions=p.get("AlarmActions", []),
            ok_actions=p.get("OKActions"),
            insufficient_data_actions=p.get("InsufficientDataActions"),
            treat_missing_data=p.get("TreatMissingData"),
        )
        return cls(name, {"Arn": alarm.alarm_arn})


class _TopicPolicy(_Resource, CloudFormationModel):
    __module__ = "moto.cloudformation.isoscan"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::TopicPolicy"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        from moto.sns.models import sns_backends

        p = cloudformation_json.get("Properties", {})
        for arn in p.get("Topics", []):
            sns_backends[account_id][region_name].set_topic_attribute(arn, "Policy", json.dumps(p["PolicyDocument"]))
        return cls(f"{resource_name}-{uuid.uuid4().hex[:8]}", {})


class _FunctionUrl(_Resource, CloudFormationModel):
    __module__ = "moto.cloudformation.isoscan"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::Url"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        from moto.awslambda.models import lambda_backends

        p = cloudformation_json.get("Properties", {})
        config = {k: p[k] for k in ("AuthType", "Cors", "InvokeMode") if k in p}
        url = lambda_backends[account_id][region_name].create_function_url_config(p["TargetFunctionArn"], config)
        # AWS's function URLs end with a slash.
        url.url += "/"
        return cls(url.function.function_arn, {"FunctionUrl": url.url, "FunctionArn": url.function.function_arn})


# --- SQS ---------------------------------------------------------------------------------

from moto.sqs import models as sqs_models  # noqa: E402

_add_message = sqs_models.Queue.add_message


def add_message(self, message) -> None:
    # moto would run a queue's Lambda trigger here, which needs Docker; the tests play the
    # trigger themselves (receive, run the handler, delete), as Lambda's poller does.
    mappings = self.lambda_event_source_mappings
    self.lambda_event_source_mappings = {}
    try:
        _add_message(self, message)
    finally:
        self.lambda_event_source_mappings = mappings


sqs_models.Queue.add_message = add_message

# --- DynamoDB ----------------------------------------------------------------------------

from moto.dynamodb import responses as dynamodb_responses  # noqa: E402

_dynamodb_lock = threading.Lock()
_dynamodb_call = dynamodb_responses.DynamoHandler.call_action


def dynamodb_call_action(self):
    # DynamoDB applies a write and its condition as one step. moto's server threads read,
    # check and write in turn: two conditional updates of one item could both pass, and two
    # `ADD`s to one counter could leave it one short. One request at a time, as DynamoDB
    # behaves for each item.
    with _dynamodb_lock:
        return _dynamodb_call(self)


dynamodb_responses.DynamoHandler.call_action = dynamodb_call_action

import copy  # noqa: E402

from moto.dynamodb import models as dynamodb_models  # noqa: E402
from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: E402
from moto.dynamodb.models.table import Table  # noqa: E402


class _TablesKept:
    """moto's `copy` inside its DynamoDB backend, but a table is "copied" as itself: the
    transaction below keeps the items instead."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(x, memo=None):
        return x if isinstance(x, Table) else copy.deepcopy(x, memo)


dynamodb_models.copy = _TablesKept()
_transact_write_items = dynamodb_models.DynamoDBBackend.transact_write_items


def transact_write_items(self, transact_items):
    kept = []
    for entry in transact_items:
        try:
            op_type, op = next(iter(entry.items()))
            table = self.tables[op["TableName"]]
            attrs = op["Item"] if op_type == "Put" else op["Key"]
            h = DynamoType(attrs[table.hash_key_attr])
            r = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
        except (KeyError, StopIteration, TypeError, AttributeError):
            # moto refuses such an item itself, before the transaction writes anything.
            continue
        kept.append((table, h, r, copy.deepcopy(table.get_item(h, r))))
    try:
        return _transact_write_items(self, transact_items)
    except Exception:
        for table, h, r, item in reversed(kept):
            if r is None:
                if item is None:
                    table.items.pop(h, None)
                else:
                    table.items[h] = item
            elif item is None:
                table.items[h].pop(r, None)
            else:
                table.items[h][r] = item
        raise


dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items

from moto.moto_api._internal import urls as moto_api_urls  # noqa: E402

moto_api_urls.url_paths["{0}/moto-api/static/textract/results"] = textract_results
moto_api_urls.url_paths["{0}/moto-api/static/apigateway/posted"] = posted

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
