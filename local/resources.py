"""Give every template resource a local physical id, and create the ones that hold data.

``plan`` names every resource the way CloudFormation would (explicit names
win, otherwise ``<stack>-<logicalid>`` in lowercase, which is also a valid
bucket name) and works out its ``Ref`` and ``GetAtt`` values, so environment
variables resolve without any AWS call. ``create`` then makes the tables,
buckets, queues and event buses on the AWS-compatible endpoint from the
template's own properties (key schema, indexes, Object Lock, redrive…), in
dependency order, and is idempotent: running it against a server that already
has them changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from local.template import FUNCTION, Physical, Pseudo, Resolver, Template, TemplateError

log = logging.getLogger("local.resources")

TABLE = "AWS::DynamoDB::Table"
BUCKET = "AWS::S3::Bucket"
QUEUE = "AWS::SQS::Queue"
EVENT_BUS = "AWS::Events::EventBus"
USER_POOL = "AWS::Cognito::UserPool"
USER_POOL_CLIENT = "AWS::Cognito::UserPoolClient"

# Explicit-name properties, per type; without one CloudFormation generates a name.
_NAME_PROPERTY = {
    TABLE: "TableName",
    BUCKET: "BucketName",
    QUEUE: "QueueName",
    EVENT_BUS: "Name",
    "AWS::Events::Rule": "Name",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::LayerVersion": "LayerName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Scheduler::Schedule": "Name",
    "AWS::Scheduler::ScheduleGroup": "Name",
    "AWS::Cognito::UserPool": "UserPoolName",
}


def physical_name(template: Template, resolver: Resolver, logical_id: str, stack_name: str) -> str:
    resource = template.resources[logical_id]
    explicit = (resource.get("Properties") or {}).get(_NAME_PROPERTY.get(resource["Type"], ""))
    if explicit is not None:
        return resolver.resolve_string(explicit, f"{logical_id} name")
    name = f"{stack_name}-{logical_id}".lower()
    if resource["Type"] == QUEUE and (resource.get("Properties") or {}).get("FifoQueue"):
        name += ".fifo"
    return name


def plan(template: Template, pseudo: Pseudo, endpoint: str) -> dict[str, Physical]:
    """The physical id and attributes of every resource, computed without calling AWS."""
    resolver = Resolver(template, pseudo)
    region, account = pseudo.region, pseudo.account_id
    for logical_id, resource in template.resources.items():
        kind = resource["Type"]
        name = physical_name(template, resolver, logical_id, pseudo.stack_name)
        service = kind.split("::")[1].lower()
        arn = f"arn:aws:{service}:{region}:{account}:{name}"
        ref, attributes = name, {}
        match kind:
            case "AWS::DynamoDB::Table":
                arn = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
                attributes = {"StreamArn": f"{arn}/stream/local"}
            case "AWS::S3::Bucket":
                arn = f"arn:aws:s3:::{name}"
                attributes = {
                    "DomainName": f"{name}.s3.amazonaws.com",
                    "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
                    "WebsiteURL": f"http://{name}.s3-website.{region}.amazonaws.com",
                }
            case "AWS::SQS::Queue":
                # The queue URL as moto writes it; create() replaces it with the endpoint's own answer.
                ref = f"{endpoint.rstrip('/')}/{account}/{name}"
                attributes = {"QueueName": name, "QueueUrl": ref}
            case "AWS::Events::EventBus":
                arn = f"arn:aws:events:{region}:{account}:event-bus/{name}"
                attributes = {"Name": name}
            case "AWS::Events::Rule":
                arn = f"arn:aws:events:{region}:{account}:rule/{name}"
            case "AWS::Serverless::Function" | "AWS::Lambda::Function":
                arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
            case "AWS::Serverless::LayerVersion":
                ref = arn = f"arn:aws:lambda:{region}:{account}:layer:{name}:1"
            case "AWS::Serverless::HttpApi" | "AWS::ApiGatewayV2::Api":
                # An API id is ten lowercase characters; keep it stable across runs.
                ref = hashlib.sha256(f"{pseudo.stack_name}/{logical_id}".encode()).hexdigest()[:10]
                attributes = {"ApiId": ref, "ApiEndpoint": f"https://{ref}.execute-api.{region}.amazonaws.com"}
            case "AWS::Logs::LogGroup":
                arn = f"arn:aws:logs:{region}:{account}:log-group:{name}:*"
            case "AWS::SNS::Topic":
                ref = arn = f"arn:aws:sns:{region}:{account}:{name}"
                attributes = {"TopicArn": arn, "TopicName": name}
            case "AWS::IAM::ManagedPolicy":
                ref = arn = f"arn:aws:iam::{account}:policy/{name}"
                attributes = {"PolicyArn": arn}
            case "AWS::IAM::Role":
                arn = f"arn:aws:iam::{account}:role/{name}"
                attributes = {"RoleId": f"AROA{hashlib.sha256(name.encode()).hexdigest()[:16].upper()}"}
            case "AWS::Scheduler::Schedule":
                arn = f"arn:aws:scheduler:{region}:{account}:schedule/default/{name}"
            case "AWS::Cognito::UserPool":
                # The real id comes from the endpoint when create() makes the pool.
                ref = f"{region}_{hashlib.sha256(name.encode()).hexdigest()[:9]}"
                arn = f"arn:aws:cognito-idp:{region}:{account}:userpool/{ref}"
                attributes = _user_pool_attributes(ref, region)
            case "AWS::Cognito::UserPoolClient":
                ref = hashlib.sha256(name.encode()).hexdigest()[:26]
                attributes = {"ClientId": ref, "Name": name}
        resolver.physical[logical_id] = Physical(logical_id, kind, ref, {"Arn": arn, **attributes})
    return resolver.physical


def _user_pool_attributes(pool_id: str, region: str) -> dict[str, str]:
    provider = f"cognito-idp.{region}.amazonaws.com/{pool_id}"
    return {"UserPoolId": pool_id, "ProviderName": provider, "ProviderURL": f"https://{provider}"}


# ------------------------------------------------------------------ creation


def references(value: Any) -> set[str]:
    """The logical ids a property value refers to (Ref, GetAtt, ${Sub} names)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else str(inner).split(".")[0])
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                found |= {name.split(".")[0] for name in _sub_names(text)}
                if isinstance(inner, list):
                    found |= references(inner[1])
            else:
                found |= references(inner)
    return found


def _sub_names(text: str) -> list[str]:
    import re

    return [name for name in re.findall(r"\$\{([^}!][^}]*)\}", text)]


def creation_order(template: Template, logical_ids: list[str]) -> list[str]:
    """Logical ids sorted so that each comes after the resources it refers to."""
    wanted = set(logical_ids)
    order: list[str] = []
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id in order:
            return
        if logical_id in visiting:
            raise TemplateError(f"circular reference through {logical_id}")
        visiting.add(logical_id)
        resource = template.resources[logical_id]
        depends = resource.get("DependsOn") or []
        depends = [depends] if isinstance(depends, str) else depends
        for other in sorted((references(resource.get("Properties")) | set(depends)) & wanted):
            visit(other)
        visiting.discard(logical_id)
        order.append(logical_id)

    for logical_id in logical_ids:
        visit(logical_id)
    return order


ClientFactory = Callable[[str], Any]


def coerce(shape: Any, value: Any) -> Any:
    """Convert template values to the types an API operation wants, as CloudFormation does.

    A template often gives a number as a string (``Days: !Ref RetentionParameter``);
    the botocore model of the operation says where an integer, boolean or float
    is expected.
    """
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {key: coerce(shape.members.get(key), inner) for key, inner in value.items()}
    if kind == "list" and isinstance(value, list):
        return [coerce(shape.member, inner) for inner in value]
    if kind == "map" and isinstance(value, dict):
        return {key: coerce(shape.value, inner) for key, inner in value.items()}
    if isinstance(value, str):
        if kind in ("integer", "long"):
            return int(value)
        if kind in ("float", "double"):
            return float(value)
        if kind == "boolean":
            return value.lower() == "true"
    return value


class CoercingClient:
    """A boto3 client whose operations coerce their parameters first (see ``coerce``)."""

    def __init__(self, client: Any):
        self._client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        operation = self._client.meta.method_to_api_mapping.get(name)
        if operation is None:
            return method
        shape = self._client.meta.service_model.operation_model(operation).input_shape
        return lambda **params: method(**coerce(shape, params))


class ResourceMaker:
    """Creates a template's data resources on an AWS-compatible endpoint."""

    def __init__(self, template: Template, resolver: Resolver, client: ClientFactory, region: str):
        self.template = template
        self.resolver = resolver
        self.client = lambda service: CoercingClient(client(service))
        self.region = region
        self.creators: dict[str, Callable[[Physical, dict], None]] = {
            TABLE: self.table,
            BUCKET: self.bucket,
            QUEUE: self.queue,
            EVENT_BUS: self.event_bus,
            USER_POOL: self.user_pool,
            USER_POOL_CLIENT: self.user_pool_client,
        }

    def create_all(self) -> list[str]:
        wanted = [
            logical_id
            for logical_id, resource in self.template.resources.items()
            if resource["Type"] in self.creators and self.template.is_created(logical_id, self.resolver)
        ]
        ordered = creation_order(self.template, wanted)
        for logical_id in ordered:
            physical = self.resolver.physical[logical_id]
            props = self.resolver.resolve(self.template.resources[logical_id].get("Properties") or {})
            self.creators[physical.type](physical, props)
            log.info("created %s %s (%s)", physical.type, logical_id, physical.ref)
        return ordered

    # -------------------------------------------------------------- DynamoDB

    def table(self, physical: Physical, props: dict) -> None:
        dynamodb = self.client("dynamodb")
        params = _pick(
            props,
            "AttributeDefinitions KeySchema BillingMode ProvisionedThroughput OnDemandThroughput TableClass "
            "DeletionProtectionEnabled Tags",
        )
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if props.get(key):
                fields = "IndexName KeySchema Projection ProvisionedThroughput OnDemandThroughput"
                params[key] = [_pick(index, fields) for index in props[key]]
        if props.get("StreamSpecification"):
            params["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        if props.get("SSESpecification"):
            sse = props["SSESpecification"]
            params["SSESpecification"] = {
                "Enabled": bool(sse.get("SSEEnabled")),
                **_pick(sse, "SSEType KMSMasterKeyId"),
            }
        try:
            dynamodb.create_table(TableName=physical.ref, **params)
        except ClientError as error:
            if _code(error) != "ResourceInUseException":
                raise
            log.info("table %s already exists", physical.ref)
        dynamodb.get_waiter("table_exists").wait(TableName=physical.ref, WaiterConfig={"Delay": 0.1})
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            self._optional(
                dynamodb,
                "update_time_to_live",
                TableName=physical.ref,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        pitr = props.get("PointInTimeRecoverySpecification")
        if pitr and pitr.get("PointInTimeRecoveryEnabled"):
            self._optional(
                dynamodb,
                "update_continuous_backups",
                TableName=physical.ref,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )

    # -------------------------------------------------------------- S3

    def bucket(self, physical: Physical, props: dict) -> None:
        s3 = self.client("s3")
        params: dict[str, Any] = {"Bucket": physical.ref}
        if self.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        if props.get("ObjectLockEnabled"):
            params["ObjectLockEnabledForBucket"] = True
        try:
            s3.create_bucket(**params)
        except ClientError as error:
            if _code(error) != "BucketAlreadyOwnedByYou":
                raise
            log.info("bucket %s already exists", physical.ref)
        if props.get("VersioningConfiguration"):
            s3.put_bucket_versioning(
                Bucket=physical.ref, VersioningConfiguration=_pick(props["VersioningConfiguration"], "Status")
            )
        if props.get("ObjectLockConfiguration", {}).get("Rule"):
            wanted = {"ObjectLockEnabled": "Enabled", "Rule": props["ObjectLockConfiguration"]["Rule"]}
            # A restart finds the rule already set, and moto refuses to set it again once the bucket holds
            # an object (a locked PDF from the last run): set it only when it differs.
            if _retention(_object_lock(s3, physical.ref)) != _retention(coerce(_lock_shape(s3), wanted)):
                s3.put_object_lock_configuration(Bucket=physical.ref, ObjectLockConfiguration=wanted)
            else:
                log.info("bucket %s already has its Object Lock rule", physical.ref)
        if props.get("PublicAccessBlockConfiguration"):
            s3.put_public_access_block(
                Bucket=physical.ref, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
            )
        encryption = (props.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration")
        if encryption:
            self._optional(
                s3,
                "put_bucket_encryption",
                Bucket=physical.ref,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {
                            **_pick(rule, "BucketKeyEnabled"),
                            "ApplyServerSideEncryptionByDefault": rule.get("ServerSideEncryptionByDefault", {}),
                        }
                        for rule in encryption
                    ]
                },
            )
        if props.get("Tags"):
            s3.put_bucket_tagging(Bucket=physical.ref, Tagging={"TagSet": props["Tags"]})

    # -------------------------------------------------------------- SQS

    def queue(self, physical: Physical, props: dict) -> None:
        sqs = self.client("sqs")
        attributes = {}
        for key in [
            "DelaySeconds",
            "MaximumMessageSize",
            "MessageRetentionPeriod",
            "ReceiveMessageWaitTimeSeconds",
            "VisibilityTimeout",
            "FifoQueue",
            "ContentBasedDeduplication",
            "DeduplicationScope",
            "FifoThroughputLimit",
            "KmsMasterKeyId",
            "KmsDataKeyReusePeriodSeconds",
            "SqsManagedSseEnabled",
            "RedrivePolicy",
            "RedriveAllowPolicy",
        ]:
            if key in props:
                value = props[key]
                if isinstance(value, dict):
                    value = json.dumps(value)
                elif isinstance(value, bool):
                    value = "true" if value else "false"
                attributes[key] = str(value)
        name = physical.attributes["QueueName"]
        tags = {tag["Key"]: tag["Value"] for tag in props.get("Tags") or []}
        url = sqs.create_queue(QueueName=name, Attributes=attributes, **({"tags": tags} if tags else {}))["QueueUrl"]
        physical.ref = physical.attributes["QueueUrl"] = url

    # -------------------------------------------------------------- EventBridge

    def event_bus(self, physical: Physical, props: dict) -> None:
        if physical.ref == "default":
            return
        try:
            self.client("events").create_event_bus(Name=physical.ref)
        except ClientError as error:
            if _code(error) != "ResourceAlreadyExistsException":
                raise
            log.info("event bus %s already exists", physical.ref)

    # -------------------------------------------------------------- Cognito

    def user_pool(self, physical: Physical, props: dict) -> None:
        cognito = self.client("cognito-idp")
        name = props.get("UserPoolName", physical.logical_id)
        existing = [pool for pool in cognito.list_user_pools(MaxResults=60)["UserPools"] if pool["Name"] == name]
        if existing:
            pool_id = existing[0]["Id"]
            log.info("user pool %s already exists", name)
        else:
            params = _fit(cognito, "create_user_pool", props)
            pool_id = cognito.create_user_pool(PoolName=name, **params)["UserPool"]["Id"]
        physical.ref = pool_id
        physical.attributes.update(_user_pool_attributes(pool_id, self.region))
        physical.attributes["Arn"] = physical.attributes["Arn"].rsplit("/", 1)[0] + f"/{pool_id}"

    def user_pool_client(self, physical: Physical, props: dict) -> None:
        cognito = self.client("cognito-idp")
        pool_id = props["UserPoolId"]
        name = props.get("ClientName", physical.logical_id)
        listed = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
        existing = [client for client in listed if client["ClientName"] == name]
        if existing:
            client_id = existing[0]["ClientId"]
        else:
            params = _fit(cognito, "create_user_pool_client", props)
            client_id = cognito.create_user_pool_client(ClientName=name, **params)["UserPoolClient"]["ClientId"]
        physical.ref = physical.attributes["ClientId"] = client_id

    # -------------------------------------------------------------- helpers

    def _optional(self, client: Any, operation: str, **kwargs: Any) -> None:
        """A setting the cloud applies but a local endpoint may not implement: warn, do not fail."""
        try:
            getattr(client, operation)(**kwargs)
        except ClientError as error:
            log.warning("%s is not supported by the endpoint (%s); carrying on", operation, _code(error))


def ses_identities(template: Template, resolver: Resolver) -> list[str]:
    """The SES identities the template lets its functions send as (``ses:Send*`` statements, SES policy templates)."""
    found: set[str] = set()
    for logical_id in template.of_type(FUNCTION):
        for policy in template.function_properties(logical_id).get("Policies") or []:
            if not isinstance(policy, dict):
                continue
            for name, value in policy.items():
                if name.startswith("SES") and isinstance(value, dict) and "IdentityName" in value:
                    found.add(str(resolver.resolve(value["IdentityName"])))
            for statement in policy.get("Statement") or []:
                actions = statement.get("Action") or []
                actions = [actions] if isinstance(actions, str) else actions
                if not any(str(action).lower().startswith(("ses:send", "ses:*")) for action in actions):
                    continue
                resources = resolver.resolve(statement.get("Resource") or [])
                for arn in [resources] if isinstance(resources, str) else resources:
                    if ":identity/" in str(arn) and not str(arn).endswith("*"):
                        found.add(str(arn).split(":identity/", 1)[1])
    return sorted(found)


def verify_ses_identities(identities: list[str], ses: Any) -> None:
    """Verify the senders locally, as an operator verifies them in SES before the first deploy."""
    for identity in identities:
        if "@" in identity:
            ses.verify_email_identity(EmailAddress=identity)
        else:
            ses.verify_domain_identity(Domain=identity)
        log.info("verified SES identity %s", identity)


def _fit(client: Any, method: str, props: dict) -> dict:
    """The template properties that are also parameters of the API operation (CloudFormation-only ones dropped)."""
    operation = client.meta.method_to_api_mapping[method]
    members = client.meta.service_model.operation_model(operation).input_shape.members
    dropped = sorted(set(props) - set(members))
    if dropped:
        log.debug("%s: not passing %s", method, ", ".join(dropped))
    return {key: value for key, value in props.items() if key in members}


def _object_lock(s3: Any, bucket: str) -> dict | None:
    try:
        return s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    except ClientError as error:
        if _code(error) in ("ObjectLockConfigurationNotFoundError", "NoSuchObjectLockConfiguration"):
            return None
        raise


def _retention(configuration: dict | None) -> tuple | None:
    """An Object Lock rule as a comparable value (moto answers ``Years: 0`` where none was set)."""
    if not configuration or configuration.get("ObjectLockEnabled") != "Enabled":
        return None
    retention = (configuration.get("Rule") or {}).get("DefaultRetention") or {}
    return retention.get("Mode"), retention.get("Days") or 0, retention.get("Years") or 0


def _lock_shape(s3: Any) -> Any:
    """The shape of an Object Lock configuration, so the template's ``Days: "3650"`` compares as 3650."""
    operation = s3._client.meta.service_model.operation_model("PutObjectLockConfiguration")
    return operation.input_shape.members["ObjectLockConfiguration"]


def _pick(values: dict, keys: str) -> dict:
    return {key: values[key] for key in keys.split() if key in values}


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")
