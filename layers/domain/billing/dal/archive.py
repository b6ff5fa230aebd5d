"""The invoice archive in S3: write-once PDFs under Object Lock.

Keys come from ``billing.invoicing.close_run.pdf_key``. The bucket keeps
every version and locks it in compliance mode, so a second PUT would leave a
second locked version forever: ``store`` therefore writes only when the key
is absent, and refuses if an existing object's checksum differs.

That is one conditional PUT (``If-None-Match: *``), not a HEAD then a PUT:
S3 answers 412 when the key exists, and only then is the object's stored
sha256 (its metadata) read to tell a re-run (same bytes) from a mismatch.
"""

from __future__ import annotations

import base64
import hashlib

from botocore.exceptions import ClientError

from billing.dal.clients import s3


class ArchiveMismatch(RuntimeError):
    """An archived file differs from the one made now: never overwrite it."""


class InvoiceArchive:
    def __init__(self, bucket: str, client=None):
        self.bucket = bucket
        self.client = client or s3()

    def store(self, key: str, body: bytes, content_type: str = "application/pdf") -> str:
        """Archive the file once; its sha256 (hex). A re-run finds it and checks it."""
        digest = hashlib.sha256(body).digest()
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                ChecksumAlgorithm="SHA256",  # Object Lock requires a checksum on every PUT:
                ChecksumSHA256=base64.b64encode(digest).decode(),  # this one, computed once
                Metadata={"sha256": digest.hex()},
                IfNoneMatch="*",  # never a second version: S3 refuses (412) when the key exists
            )
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("PreconditionFailed", "412"):
                raise  # 409 ConditionalRequestConflict included: a concurrent PUT; the caller's retry settles it
            existing = self._sha256_of(key)
            if existing != digest.hex():
                raise ArchiveMismatch(
                    f"s3://{self.bucket}/{key} already holds different content ({existing})"
                ) from None
        return digest.hex()

    def _sha256_of(self, key: str) -> str | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return head.get("Metadata", {}).get("sha256")

    def presigned_url(self, key: str, expires_in: int = 300) -> str:
        """A short-lived GET link (at most 300 s) for the owner of the statement."""
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key, "ResponseContentType": "application/pdf"},
            ExpiresIn=min(expires_in, 300),
        )
