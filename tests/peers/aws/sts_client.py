"""boto3 against rolegate's STS endpoint, for the end-to-end tests.

Usage: sts_client.py '<json request>'; prints one JSON object. The request names an
"op" and its inputs; an AWS error is printed as {"error": {"code", "message", "status"}}.
"""
import json
import sys
import urllib.error
import urllib.request

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import botocore.exceptions


def client(request, credentials=None):
    credentials = credentials or {}
    return boto3.client(
        "sts",
        endpoint_url=request["endpoint"],
        region_name=request.get("region", "us-east-1"),
        aws_access_key_id=credentials.get("AccessKeyId", "unused"),
        aws_secret_access_key=credentials.get("SecretAccessKey", "unused"),
        aws_session_token=credentials.get("SessionToken"),
        config=botocore.config.Config(retries={"max_attempts": 1}),
    )


def run(request):
    op = request["op"]
    if op == "assume_web_identity":
        args = {
            "RoleArn": request["role_arn"],
            "RoleSessionName": request["session_name"],
            "WebIdentityToken": request["token"],
        }
        if "duration" in request:
            args["DurationSeconds"] = request["duration"]
        if "policy" in request:
            args["Policy"] = request["policy"]
        answer = client(request).assume_role_with_web_identity(**args)
        answer["Credentials"]["Expiration"] = answer["Credentials"]["Expiration"].isoformat()
        answer.pop("ResponseMetadata", None)
        return answer
    if op == "assume_saml":
        args = {
            "RoleArn": request["role_arn"],
            "PrincipalArn": request["principal_arn"],
            "SAMLAssertion": request["assertion"],
        }
        if "duration" in request:
            args["DurationSeconds"] = request["duration"]
        answer = client(request).assume_role_with_saml(**args)
        answer["Credentials"]["Expiration"] = answer["Credentials"]["Expiration"].isoformat()
        answer.pop("ResponseMetadata", None)
        return answer
    if op == "assume_role":
        args = {"RoleArn": request["role_arn"], "RoleSessionName": request["session_name"]}
        if "duration" in request:
            args["DurationSeconds"] = request["duration"]
        answer = client(request, request["credentials"]).assume_role(**args)
        answer["Credentials"]["Expiration"] = answer["Credentials"]["Expiration"].isoformat()
        answer.pop("ResponseMetadata", None)
        return answer
    if op == "whoami":
        answer = client(request, request["credentials"]).get_caller_identity()
        answer.pop("ResponseMetadata", None)
        return answer
    if op == "presign_whoami":
        # GET, as `aws eks get-token` and Vault's AWS auth method send it.
        url = client(request, request["credentials"]).generate_presigned_url(
            "get_caller_identity", ExpiresIn=request.get("expires", 900), HttpMethod="GET"
        )
        return {"url": url}
    if op in ("signed_json", "signed_get"):
        # rolegate's own API, signed as an SDK signs any AWS call (service rolegate).
        credentials = request["credentials"]
        method = "POST" if op == "signed_json" else "GET"
        body = json.dumps(request["body"]).encode() if method == "POST" else None
        headers = {"content-type": "application/json"} if body else {}
        aws_request = botocore.awsrequest.AWSRequest(
            method=method, url=request["url"], data=body, headers=headers,
        )
        botocore.auth.SigV4Auth(
            botocore.credentials.Credentials(
                credentials["AccessKeyId"], credentials["SecretAccessKey"],
                credentials["SessionToken"],
            ),
            "rolegate", "us-east-1",
        ).add_auth(aws_request)
        prepared = aws_request.prepare()
        http_request = urllib.request.Request(
            prepared.url, data=body, headers=dict(prepared.headers), method=method
        )
        try:
            with urllib.request.urlopen(http_request) as response:
                return {"status": response.status, "body": json.loads(response.read())}
        except urllib.error.HTTPError as error:
            return {"status": error.code, "body": json.loads(error.read())}
    raise SystemExit(f"unknown op {op}")


def main():
    request = json.loads(sys.argv[1])
    try:
        answer = run(request)
    except botocore.exceptions.ClientError as error:
        answer = {
            "error": {
                "code": error.response["Error"]["Code"],
                "message": error.response["Error"].get("Message", ""),
                "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
            }
        }
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
