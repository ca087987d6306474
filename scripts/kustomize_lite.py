#!/usr/bin/env python3
"""Renders deploy/k8s kustomizations without kubectl, for machines that lack it.

It implements only the kustomize features deploy/k8s uses (resources as files or other
kustomization dirs, configMapGenerator with files, labels without selectors, images with
newName/newTag, patches by path as strategic merges) and refuses any other field, so a new
feature in deploy/k8s cannot be silently ignored here. Strategic merge is simplified the way
those patches need it: maps merge recursively, lists of maps with a `name` key merge by name,
other lists are replaced. validate-deploy.sh compares this renderer with `kubectl kustomize`
wherever kubectl exists, so the two cannot drift apart unnoticed.

    kustomize_lite.py DIR                 # print the rendered YAML stream
    kustomize_lite.py --compare DIR FILE  # exit 1 unless FILE (kubectl's) renders the same
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import re
import sys
from pathlib import Path

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "configMapGenerator", "labels", "images",
             "patches"}


def load_docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def merge(base, patch):
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if (isinstance(base, list) and isinstance(patch, list) and base and patch
            and all(isinstance(x, dict) and "name" in x for x in base + patch)):
        # Entries new to the list come first, as kubectl's strategic merge orders them.
        by_name = {x["name"]: x for x in patch}
        added = [copy.deepcopy(x) for x in patch if x["name"] not in {b["name"] for b in base}]
        return added + [merge(b, by_name[b["name"]]) if b["name"] in by_name
                        else copy.deepcopy(b) for b in base]
    return copy.deepcopy(patch)


def walk(node, visit):
    """Calls visit(dict) on every mapping inside node."""
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            walk(value, visit)


def render(directory: Path) -> list[dict]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        sys.exit(f"kustomize_lite: {directory}: unsupported fields {sorted(unknown)}; "
                 "use kubectl kustomize")
    docs: list[dict] = []
    for entry in kustomization.get("resources", []):
        target = directory / entry
        docs.extend(render(target) if target.is_dir() else load_docs(target))

    renames = {}
    for generator in kustomization.get("configMapGenerator", []):
        if set(generator) - {"name", "files"}:
            sys.exit(f"kustomize_lite: unsupported configMapGenerator fields in {directory}")
        data = {}
        for spec in generator["files"]:
            key, _, file = spec.rpartition("=")
            data[key or Path(file).name] = (directory / file).read_text()
        # A content hash suffix as kustomize adds one (not byte-identical to its hash).
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:10]
        name = f"{generator['name']}-{digest}"
        renames[generator["name"]] = name
        docs.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": name}, "data": data})

    def rename_refs(node):
        if "configMap" in node and node["configMap"].get("name") in renames:
            node["configMap"]["name"] = renames[node["configMap"]["name"]]
        ref = node.get("configMapKeyRef") or node.get("configMapRef")
        if ref and ref.get("name") in renames:
            ref["name"] = renames[ref["name"]]

    for doc in docs:
        walk(doc, rename_refs)

    for patch_entry in kustomization.get("patches", []):
        if set(patch_entry) != {"path"}:
            sys.exit(f"kustomize_lite: only `patches: - path:` is supported ({directory})")
        for patch in load_docs(directory / patch_entry["path"]):
            targets = [d for d in docs if d["kind"] == patch["kind"]
                       and d["metadata"]["name"] == patch["metadata"]["name"]]
            if len(targets) != 1:
                sys.exit(f"kustomize_lite: patch {patch_entry['path']} matches {len(targets)}")
            docs[docs.index(targets[0])] = merge(targets[0], patch)

    for image in kustomization.get("images", []):
        def set_image(node, image=image):
            value = node.get("image")
            if not isinstance(value, str):
                return
            name, _, _ = value.partition(":")
            if name == image["name"]:
                new = image.get("newName", name)
                tag = image.get("newTag", value.partition(":")[2])
                node["image"] = f"{new}:{tag}" if tag else new
        for doc in docs:
            walk(doc, set_image)

    for label in kustomization.get("labels", []):
        if label.get("includeSelectors") or label.get("includeTemplates"):
            sys.exit("kustomize_lite: labels with selectors/templates are not supported")
        for doc in docs:
            doc.setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])
    return docs


def normalise(docs: list[dict]) -> dict:
    """Keyed by kind/name, generated-name hashes blanked (the two hashes differ by design)."""
    text = json.dumps(docs, sort_keys=True)
    text = re.sub(r'(rankd-config)-[a-z0-9]{10}"', r'\1-HASH"', text)
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in json.loads(text)}


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--compare":
        ours = normalise(render(Path(sys.argv[2])))
        theirs = normalise(load_docs(Path(sys.argv[3])))
        if ours == theirs:
            return 0
        for key in sorted(set(ours) | set(theirs)):
            if ours.get(key) != theirs.get(key):
                lite, kubectl = (yaml.safe_dump(x.get(key)).splitlines() for x in (ours, theirs))
                diff = difflib.unified_diff(kubectl, lite, "kubectl", "kustomize_lite", lineterm="")
                print(f"{key} renders differently:", *diff, sep="\n", file=sys.stderr)
        return 1
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    yaml.safe_dump_all(render(Path(sys.argv[1])), sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
