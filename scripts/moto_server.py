"""moto's server with the few behaviours of the real services that moto leaves out.

Used by the tests (scripts/test.sh and crates/aws's test support) instead of
`python3 -m moto.server`; takes the same arguments.

- API Gateway Management API: posting to a connection that was deleted answers 410
  GoneException, as API Gateway does for a closed connection (moto accepts any id). A
  connection whose id starts with `throttled-` is refused with 429 LimitExceededException on its
  first four posts: more than the SDK's own three attempts, so a client's retries can be seen.
"""

import sys
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


apigw.ApiGatewayManagementApiBackend.delete_connection = delete_connection
apigw.ApiGatewayManagementApiBackend.post_to_connection = post_to_connection

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
