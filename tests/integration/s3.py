"""Credentials and a bucket on a loopback S3-compatible server, for the S3 integration tests.

The credentials are distinctive strings so a test can scan MLflow and DVC state for them.
"""

from __future__ import annotations

import secrets

KEY_ID = "AKIATRACER1" + secrets.token_hex(4).upper()
SECRET = "tracer1-secret-" + secrets.token_hex(12)
CREDENTIALS = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET,
               "AWS_DEFAULT_REGION": "us-east-1"}


def client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY_ID,
                        aws_secret_access_key=SECRET, region_name="us-east-1")


def make_bucket(endpoint: str, name: str) -> None:
    client(endpoint).create_bucket(Bucket=name)


def keys(endpoint: str, bucket: str, prefix: str = "") -> list[str]:
    pages = client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                       Prefix=prefix)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def leaks(text: str) -> bool:
    return KEY_ID in text or SECRET in text
