"""SARIF 2.1.0 documents written from the specification, shaped as Trivy, Semgrep and gitleaks write them."""
import json


def trivy(image="registry.acme.io/shop/api:1.4.2", vulns=(("CVE-2024-0001", "9.8", "openssl"), ("CVE-2024-0002", "5.3", "zlib"))):
    rules = [{"id": cve, "shortDescription": {"text": f"{pkg}: {cve}"}, "defaultConfiguration": {"level": "error"},
              "properties": {"security-severity": score, "tags": ["vulnerability", "security"]}} for cve, score, pkg in vulns]
    results = [{"ruleId": cve, "ruleIndex": i, "level": "error", "message": {"text": f"Package: {pkg}\nInstalled Version: 1.0"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": image.split(":")[0], "uriBaseId": "ROOTPATH"},
                                                    "region": {"startLine": 1}}}]} for i, (cve, score, pkg) in enumerate(vulns)]
    return {"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json", "runs": [{
        "tool": {"driver": {"name": "Trivy", "informationUri": "https://github.com/aquasecurity/trivy", "version": "0.58.1", "rules": rules}},
        "results": results, "columnKind": "utf16CodeUnits", "originalUriBaseIds": {"ROOTPATH": {"uri": "file:///"}},
        "properties": {"imageName": image, "repoTags": [image], "repoDigests": [image.split(":")[0] + "@sha256:" + "a" * 64]},
    }]}


def semgrep(levels=("warning", "note")):
    rules = [{"id": f"python.lang.rule-{i}", "defaultConfiguration": {"level": level}} for i, level in enumerate(levels)]
    results = [{"ruleId": rule["id"], "message": {"text": f"finding {i}"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app/views.py"}, "region": {"startLine": 10 + i}}}]}
               for i, rule in enumerate(rules)]
    return {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Semgrep OSS", "semanticVersion": "1.99.0", "rules": rules}},
                                          "results": results, "invocations": [{"executionSuccessful": True}]}]}


def gitleaks(leaks=1):
    results = [{"ruleId": "aws-access-token", "message": {"text": "aws-access-token has detected secret for file config/settings.py."},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": "config/settings.py"}, "region": {"startLine": 3}}}],
                "partialFingerprints": {"commitSha": "abc"}} for _ in range(leaks)]
    return {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "gitleaks", "semanticVersion": "v8.21.2",
                                                              "rules": [{"id": "aws-access-token", "shortDescription": {"text": "AWS"}}]}},
                                          "results": results}]}


def dump(doc) -> bytes:
    return json.dumps(doc).encode()
