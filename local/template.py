"""Read ``template.yaml`` the way CloudFormation and SAM do, for the local stack.

Three jobs, so that nothing about the stack is hard-coded in ``local/``:

* parse the YAML, including CloudFormation's short tags (``!Ref``, ``!Sub``…),
  into the long JSON forms (``{"Ref": …}``, ``{"Fn::Sub": …}``);
* resolve intrinsic functions against the local stack: parameters take their
  defaults, pseudo parameters take local values, and resources take the
  physical names and attributes that ``local.resources`` gives them;
* describe each ``AWS::Serverless::Function`` (code, handler, layers, merged
  ``Globals``, resolved environment, events) and each HttpApi route.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FUNCTION = "AWS::Serverless::Function"
HTTP_API = "AWS::Serverless::HttpApi"
HTTP_API_TYPES = (HTTP_API, "AWS::ApiGatewayV2::Api")
LAYER = "AWS::Serverless::LayerVersion"
# SAM's name for the HttpApi it makes when an HttpApi event names no ApiId.
IMPLICIT_HTTP_API = "ServerlessHttpApi"


class TemplateError(ValueError):
    """The template uses something the local stack cannot resolve; the message says what."""


# ------------------------------------------------------------------ YAML


class CloudFormationLoader(yaml.SafeLoader):
    """A SafeLoader that turns CloudFormation short tags into their long forms."""


def _long_form(name: str):
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if name == "Fn::GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {name: value}

    return construct


for _tag, _name in {
    "!Ref": "Ref",
    "!Condition": "Condition",
    **{
        f"!{fn}": f"Fn::{fn}"
        for fn in [
            "GetAtt",
            "Sub",
            "Join",
            "If",
            "Select",
            "Equals",
            "Not",
            "And",
            "Or",
            "FindInMap",
            "Split",
            "ImportValue",
            "Base64",
            "GetAZs",
            "Cidr",
            "ToJsonString",
            "Length",
            "Transform",
        ]
    },
}.items():
    CloudFormationLoader.add_constructor(_tag, _long_form(_name))


def load_yaml(path: Path) -> dict:
    with path.open(encoding="utf-8") as stream:
        return yaml.load(stream, Loader=CloudFormationLoader)


# ------------------------------------------------------------------ resolution


@dataclass
class Physical:
    """What CloudFormation would have made of one resource: its Ref and its attributes."""

    logical_id: str
    type: str
    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pseudo:
    """The values of CloudFormation's pseudo parameters on the local stack."""

    region: str
    account_id: str
    stack_name: str
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"

    def values(self) -> dict[str, str]:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:{self.partition}:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local"
            ),
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": self.url_suffix,
            "AWS::NotificationARNs": [],
        }


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()
_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class Resolver:
    """Evaluates intrinsic functions against a template, pseudo parameters and physical resources."""

    def __init__(self, template: Template, pseudo: Pseudo, physical: dict[str, Physical] | None = None):
        self.template = template
        self.pseudo = pseudo
        self.physical = physical if physical is not None else {}
        self._conditions: dict[str, bool] = {}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg)
            if key.startswith("Fn::"):
                return self._function(key, arg)
        resolved = {key: self.resolve(inner) for key, inner in value.items()}
        return {key: inner for key, inner in resolved.items() if inner is not NO_VALUE}

    def resolve_string(self, value: Any, where: str) -> str:
        """Resolve a value that must end up a string, as environment variables must."""
        resolved = self.resolve(value)
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if isinstance(resolved, (int, float, str)):
            return str(resolved)
        raise TemplateError(f"{where} resolves to {resolved!r}, not a string")

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        pseudo = self.pseudo.values()
        if name in pseudo:
            return pseudo[name]
        if name in self.template.parameters:
            return self.template.parameter_value(name)
        if name in self.physical:
            return self.physical[name].ref
        if name in self.template.resources:
            raise TemplateError(f"Ref {name}: the resource has no local physical id yet")
        raise TemplateError(f"Ref {name}: no such parameter or resource")

    def get_att(self, logical_id: str, attribute: str) -> str:
        if logical_id not in self.physical:
            raise TemplateError(f"GetAtt {logical_id}.{attribute}: no such resource on the local stack")
        attributes = self.physical[logical_id].attributes
        if attribute not in attributes:
            raise TemplateError(
                f"GetAtt {logical_id}.{attribute}: the local stack knows only {', '.join(sorted(attributes)) or 'none'}"
            )
        return attributes[attribute]

    def with_local_api_urls(self, text: str) -> str:
        """``text`` with each HTTP API's execute-api URL replaced by the local gateway that serves the API.

        Templates often spell an API's URL as
        ``!Sub https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/path`` rather than
        ``!GetAtt Api.ApiEndpoint``; locally both must lead to the gateway, not to a host that
        does not exist.
        """
        for item in self.physical.values():
            local = item.attributes.get("ApiEndpoint")
            if item.type not in HTTP_API_TYPES or not local:
                continue
            cloud = f"https://{item.ref}.execute-api.{self.pseudo.region}.{self.pseudo.url_suffix}"
            if local != cloud:
                text = re.sub(re.escape(cloud) + r"(?=[/?#]|$)", lambda _match, url=local: url, text)
        return text

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.template.body.get("Conditions") or {}
            if name not in conditions:
                raise TemplateError(f"no condition named {name}")
            self._conditions[name] = bool(self.resolve(conditions[name]))
        return self._conditions[name]

    def _function(self, key: str, arg: Any) -> Any:
        match key:
            case "Fn::GetAtt":
                logical_id, attribute = self.resolve(arg) if isinstance(arg, dict) else arg
                return self.get_att(logical_id, self.resolve(attribute))
            case "Fn::Sub":
                return self._sub(arg)
            case "Fn::Join":
                delimiter, items = arg
                return self.resolve(delimiter).join(str(item) for item in self.resolve(items))
            case "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            case "Fn::Split":
                delimiter, text = arg
                return self.resolve(text).split(self.resolve(delimiter))
            case "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
            case "Fn::Equals":
                left, right = (self.resolve(side) for side in arg)
                return str(left) == str(right)
            case "Fn::Not":
                return not self.resolve(arg[0])
            case "Fn::And":
                return all(self.resolve(item) for item in arg)
            case "Fn::Or":
                return any(self.resolve(item) for item in arg)
            case "Fn::FindInMap":
                name, top, second = (self.resolve(item) for item in arg[:3])
                return (self.template.body.get("Mappings") or {})[name][top][second]
            case "Fn::Base64":
                import base64

                return base64.b64encode(str(self.resolve(arg)).encode()).decode()
            case "Fn::GetAZs":
                return [f"{self.pseudo.region}{zone}" for zone in "abc"]
            case "Fn::ToJsonString":
                return json.dumps(self.resolve(arg), separators=(",", ":"))
            case "Fn::Length":
                return len(self.resolve(arg))
        raise TemplateError(f"{key} cannot be resolved on the local stack (arg {arg!r})")

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        variables = {name: self.resolve(value) for name, value in variables.items()}

        def substitute(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(substitute, text)


# ------------------------------------------------------------------ the template


@dataclass(frozen=True)
class EventSource:
    """One entry of a function's ``Events``: its name, type and (unresolved) properties."""

    name: str
    type: str
    properties: dict


@dataclass(frozen=True)
class FunctionSpec:
    """Everything needed to run one ``AWS::Serverless::Function`` locally."""

    logical_id: str
    name: str
    code_uri: Path
    handler: str
    runtime: str
    memory_mb: int
    timeout_s: int
    layers: tuple[Path, ...]
    environment: dict[str, str]
    log_group: str
    events: tuple[EventSource, ...]

    def events_of(self, *types: str) -> list[EventSource]:
        return [event for event in self.events if event.type in types]


@dataclass(frozen=True)
class Route:
    """One HttpApi route: ``METHOD /path/{param}`` on an API, served by a function."""

    api: str
    method: str
    path: str
    function: str
    authorizer: str | None  # the event's own Auth.Authorizer, overriding the API's default
    scopes: tuple[str, ...] = ()  # the event's Auth.AuthorizationScopes, for JWT authorizers

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class HttpApiSpec:
    """An ``AWS::Serverless::HttpApi`` (or SAM's implicit one) and its auth configuration."""

    logical_id: str
    properties: dict

    @property
    def auth(self) -> dict:
        return self.properties.get("Auth") or {}


def merge_globals(global_value: Any, own_value: Any) -> Any:
    """SAM's Globals rule: maps merge, lists concatenate (globals first), scalars are overridden."""
    if isinstance(global_value, dict) and isinstance(own_value, dict):
        merged = dict(global_value)
        for key, value in own_value.items():
            merged[key] = merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(own_value, list):
        return global_value + own_value
    return own_value


class Template:
    """A parsed SAM template and the local reading of its functions, APIs and routes."""

    def __init__(self, path: Path, body: dict, parameter_overrides: dict[str, str] | None = None):
        self.path = path
        self.root = path.parent
        self.body = body
        self.parameter_overrides = dict(parameter_overrides or {})

    @classmethod
    def load(cls, path: Path | str, parameter_overrides: dict[str, str] | None = None) -> Template:
        path = Path(path).resolve()
        return cls(path, load_yaml(path), parameter_overrides)

    @property
    def parameters(self) -> dict:
        return self.body.get("Parameters") or {}

    @property
    def resources(self) -> dict:
        return self.body.get("Resources") or {}

    def parameter_value(self, name: str) -> Any:
        if name in self.parameter_overrides:
            return self.parameter_overrides[name]
        declared = self.parameters[name]
        if "Default" not in declared:
            raise TemplateError(f"parameter {name} has no Default; pass it with --parameter {name}=VALUE")
        value = declared["Default"]
        # A Ref to a parameter is always a string in CloudFormation, whatever its Type.
        return value if isinstance(value, list) else str(value)

    def globals_for(self, section: str) -> dict:
        return (self.body.get("Globals") or {}).get(section) or {}

    def of_type(self, *types: str) -> dict[str, dict]:
        return {logical_id: resource for logical_id, resource in self.resources.items() if resource["Type"] in types}

    def is_created(self, logical_id: str, resolver: Resolver) -> bool:
        condition = self.resources[logical_id].get("Condition")
        return condition is None or resolver.condition(condition)

    def function_properties(self, logical_id: str) -> dict:
        own = self.resources[logical_id].get("Properties") or {}
        return merge_globals(self.globals_for("Function"), own)

    # -------------------------------------------------------------- functions

    def functions_with_events(self, *types: str) -> list[str]:
        """Logical ids of the functions that have an event of one of these types."""
        return [
            logical_id
            for logical_id in self.of_type(FUNCTION)
            if any(
                event.get("Type") in types
                for event in (self.function_properties(logical_id).get("Events") or {}).values()
            )
        ]

    def functions(self, resolver: Resolver) -> dict[str, FunctionSpec]:
        return {
            logical_id: self.function(logical_id, resolver)
            for logical_id in self.of_type(FUNCTION)
            if self.is_created(logical_id, resolver)
        }

    def function(self, logical_id: str, resolver: Resolver) -> FunctionSpec:
        if self.resources.get(logical_id, {}).get("Type") != FUNCTION:
            known = ", ".join(self.of_type(FUNCTION)) or "none"
            raise TemplateError(f"{logical_id} is not an {FUNCTION} in {self.path.name} (functions: {known})")
        props = self.function_properties(logical_id)
        variables = (props.get("Environment") or {}).get("Variables") or {}
        environment = {
            # An API's URL in a variable (a link in an email, say) must lead to the local gateway.
            name: resolver.with_local_api_urls(
                resolver.resolve_string(value, f"{logical_id} environment variable {name}")
            )
            for name, value in variables.items()
            if resolver.resolve(value) is not NO_VALUE
        }
        name = resolver.physical[logical_id].ref if logical_id in resolver.physical else logical_id
        log_group = (props.get("LoggingConfig") or {}).get("LogGroup")
        return FunctionSpec(
            logical_id=logical_id,
            name=name,
            code_uri=self._folder(props.get("CodeUri"), f"{logical_id} CodeUri"),
            handler=props["Handler"],
            runtime=props.get("Runtime", "python3.13"),
            memory_mb=int(resolver.resolve(props.get("MemorySize", 128))),
            timeout_s=int(resolver.resolve(props.get("Timeout", 3))),
            layers=tuple(self._layer_folder(layer, logical_id) for layer in props.get("Layers") or []),
            environment=environment,
            log_group=resolver.resolve_string(log_group, f"{logical_id} LogGroup")
            if log_group
            else f"/aws/lambda/{name}",
            events=tuple(
                EventSource(event_name, event["Type"], event.get("Properties") or {})
                for event_name, event in (props.get("Events") or {}).items()
            ),
        )

    def _folder(self, uri: Any, where: str) -> Path:
        if not isinstance(uri, str):
            raise TemplateError(f"{where} must be a local folder, got {uri!r}")
        folder = (self.root / uri).resolve()
        if not folder.is_dir():
            raise TemplateError(f"{where} {uri!r} is not a folder under {self.root}")
        return folder

    def _layer_folder(self, layer: Any, function: str) -> Path:
        logical_id = layer.get("Ref") if isinstance(layer, dict) else None
        resource = self.resources.get(logical_id or "", {})
        if resource.get("Type") != LAYER:
            raise TemplateError(f"{function} layer {layer!r} must be a !Ref to an {LAYER} in this template")
        return self._folder(resource["Properties"].get("ContentUri"), f"{logical_id} ContentUri")

    # -------------------------------------------------------------- HTTP APIs

    def http_apis(self) -> dict[str, HttpApiSpec]:
        apis = {
            logical_id: HttpApiSpec(
                logical_id, merge_globals(self.globals_for("HttpApi"), resource.get("Properties") or {})
            )
            for logical_id, resource in self.of_type(HTTP_API).items()
        }
        if any(route.api == IMPLICIT_HTTP_API for route in self.routes()):
            apis.setdefault(IMPLICIT_HTTP_API, HttpApiSpec(IMPLICIT_HTTP_API, dict(self.globals_for("HttpApi"))))
        return apis

    def routes(self) -> list[Route]:
        routes = []
        for logical_id in self.of_type(FUNCTION):
            events = self.function_properties(logical_id).get("Events") or {}
            for event_name, event in events.items():
                if event["Type"] != "HttpApi":
                    continue
                props = event.get("Properties") or {}
                api = props.get("ApiId")
                if isinstance(api, dict) and "Ref" in api:
                    api = api["Ref"]
                elif api is None:
                    api = IMPLICIT_HTTP_API
                else:
                    raise TemplateError(f"{logical_id} event {event_name}: ApiId must be a !Ref, got {api!r}")
                method = str(props.get("Method", "ANY")).upper()
                path = props.get("Path", "$default")
                if method in {"ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD"} and path == "$default":
                    method = "ANY"
                auth = props.get("Auth") or {}
                scopes = tuple(auth.get("AuthorizationScopes") or ())
                routes.append(Route(api, method, path, logical_id, auth.get("Authorizer"), scopes))
        return routes
