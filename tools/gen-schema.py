#!/usr/bin/env python3
"""Writes apiserver/schema-tables.inc: the fields, Go types and descriptions of
every kind the API server serves, as C tables (see apiserver/schema.h).

The facts come from Kubernetes' published OpenAPI, in the shape two npm
packages carry it (run `npm pack` on each and unpack):
  kubernetes-models@5.1.0 and @kubernetes-models/apimachinery@3.0.2
      field names, descriptions, references, quantities, int-or-strings, times
  @kubernetes/client-node@2.0.1 (dist/gen/models)
      the int32/int64 formats of integer fields
and from the structured-merge schema of the same types that client-go
carries (the YAML text of `schemaYAML` in applyconfigurations/internal/
internal.go, saved to a file): list types (atomic, set, map and its keys),
atomic maps and structs, and which struct fields are non-pointer Go structs
(`default: {}`), as server-side apply needs them.

usage: tools/gen-schema.py MODELS_DIR APIMACHINERY_DIR CLIENT_NODE_MODELS_DIR SMD_SCHEMA_YAML
       > apiserver/schema-tables.inc
"""
import json
import os
import re
import sys

import yaml

ROOTS = [
    # (file under the kubernetes-models package, group, version)
    ("v1/Pod", "", "v1"), ("v1/Service", "", "v1"), ("v1/ConfigMap", "", "v1"),
    ("v1/Secret", "", "v1"), ("v1/Namespace", "", "v1"), ("v1/Node", "", "v1"),
    ("v1/Endpoints", "", "v1"), ("v1/Event", "", "v1"), ("v1/ServiceAccount", "", "v1"),
    ("v1/ComponentStatus", "", "v1"), ("v1/Binding", "", "v1"),
    ("apps/v1/Deployment", "apps", "v1"), ("apps/v1/ReplicaSet", "apps", "v1"),
    ("autoscaling/v1/Scale", "autoscaling", "v1"),
    ("coordination.k8s.io/v1/Lease", "coordination.k8s.io", "v1"),
    ("discovery.k8s.io/v1/EndpointSlice", "discovery.k8s.io", "v1"),
    ("policy/v1/Eviction", "policy", "v1"),
    ("batch/v1/Job", "batch", "v1"), ("batch/v1/CronJob", "batch", "v1"),
    ("apps/v1/DaemonSet", "apps", "v1"), ("apps/v1/StatefulSet", "apps", "v1"),
    ("apps/v1/ControllerRevision", "apps", "v1"),
    ("v1/LimitRange", "", "v1"), ("v1/ResourceQuota", "", "v1"),
    ("policy/v1/PodDisruptionBudget", "policy", "v1"),
    ("rbac.authorization.k8s.io/v1/Role", "rbac.authorization.k8s.io", "v1"),
    ("rbac.authorization.k8s.io/v1/ClusterRole", "rbac.authorization.k8s.io", "v1"),
    ("rbac.authorization.k8s.io/v1/RoleBinding", "rbac.authorization.k8s.io", "v1"),
    ("rbac.authorization.k8s.io/v1/ClusterRoleBinding", "rbac.authorization.k8s.io", "v1"),
    ("authorization.k8s.io/v1/SubjectAccessReview", "authorization.k8s.io", "v1"),
    ("authorization.k8s.io/v1/SelfSubjectAccessReview", "authorization.k8s.io", "v1"),
    ("authorization.k8s.io/v1/LocalSubjectAccessReview", "authorization.k8s.io", "v1"),
    ("authorization.k8s.io/v1/SelfSubjectRulesReview", "authorization.k8s.io", "v1"),
    ("authentication.k8s.io/v1/TokenReview", "authentication.k8s.io", "v1"),
    ("authentication.k8s.io/v1/SelfSubjectReview", "authentication.k8s.io", "v1"),
]

models_dir, am_dir, cn_dir, smd_file = sys.argv[1:5]

# structured-merge facts: type name -> {"atomic": bool, "fields": {name: type}}
smd = {}
for t in yaml.safe_load(open(smd_file))["types"]:
    m = t.get("map")
    if m is None:
        continue
    smd[t["name"]] = {
        "atomic": m.get("elementRelationship") == "atomic",
        "fields": {f["name"]: f for f in m.get("fields", [])},
    }


def smd_field(owner, fname):
    """(relationship, keys, key defaults as JSON texts, zero) of field fname
    of type owner (an OpenAPI name)."""
    f = smd.get(owner, {}).get("fields", {}).get(fname)
    if f is None:
        return ("DEFAULT", [], [], False)
    ty = f["type"]
    zero = f.get("default") == {}
    if "list" in ty:
        rel = ty["list"].get("elementRelationship", "atomic")
        keys = ty["list"].get("keys", [])
        if rel == "associative":
            et = smd.get(ty["list"]["elementType"].get("namedType"), {}).get("fields", {})
            defaults = [json.dumps(et.get(k, {}).get("default"), separators=(",", ":"))
                        if "default" in et.get(k, {}) else None for k in keys]
            return ("MAP" if keys else "SET", keys, defaults, zero)
        return ("ATOMIC", [], [], zero)
    if "map" in ty and ty["map"].get("elementRelationship") == "atomic":
        return ("ATOMIC", [], [], zero)
    if ty.get("namedType") == "__untyped_atomic_":
        return ("ATOMIC", [], [], zero)
    return ("DEFAULT", [], [], zero)


def openapi_name(path):
    """The OpenAPI definition name of a .d.ts file (without extension)."""
    path = os.path.normpath(path)
    if path.startswith(os.path.normpath(am_dir) + "/"):
        rel = path[len(os.path.normpath(am_dir)) + 1:]
        return "io.k8s.apimachinery.pkg." + rel.replace("/", ".")
    rel = path[len(os.path.normpath(models_dir)) + 1:]
    parts = rel.split("/")
    if len(parts) == 2:
        group = "core"
    else:
        group = parts[0].replace(".k8s.io", "")
    return "io.k8s.api.%s.%s.%s" % (group, parts[-2], parts[-1])


def resolve(frm, spec):
    if spec.startswith("@kubernetes-models/apimachinery/"):
        return os.path.join(am_dir, spec[len("@kubernetes-models/apimachinery/"):])
    p = os.path.join(os.path.dirname(frm), spec)
    return p[:-3] if p.endswith(".js") else p


int_formats = {}
for fn in os.listdir(cn_dir):
    if not fn.endswith(".js"):
        continue
    m = re.match(r"^(?:[A-Z][a-z]+)*V\d+(?:alpha\d+|beta\d+)?([A-Z]\w*)\.js$", fn)
    if not m:
        continue
    text = open(os.path.join(cn_dir, fn)).read()
    for name, fmt in re.findall(r'"baseName": "(\w+)",\s*"type": "[^"]*",\s*"format": "(int32|int64|double|float)"', text):
        int_formats.setdefault((m.group(1), name), fmt)

types = {}   # openapi name -> dict
order = []


def c_str(s):
    s = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return '"' + s + '"'


def parse_type(t, imports, owner, field):
    t = t.strip()
    if t.startswith("Array<") and t.endswith(">"):
        return ("LIST",) + parse_type(t[6:-1], imports, owner, field)[0:]
    m = re.match(r"^\{\s*\[key: string\]:\s*(.*?);?\s*\}$", t, re.S)
    if m:
        inner = parse_type(m.group(1), imports, owner, field)
        if inner[0] in ("LIST", "MAP"):
            return ("ANY",)
        return ("MAP",) + inner
    if t.startswith("{") and "IIoK8sApiCoreV1PersistentVolumeClaimSpec" in t:
        # an embedded PersistentVolumeClaim (StatefulSet volumeClaimTemplates),
        # written inline in the package; upstream's OpenAPI refers to the type
        return ("STRUCT", load(os.path.join(models_dir, "v1/PersistentVolumeClaim")))
    if t == "string" or t.startswith('"'):
        return ("STRING",)
    if t == "boolean":
        return ("BOOL",)
    if t == "number":
        fmt = int_formats.get((owner, field))
        return {"int32": ("INT32",), "int64": ("INT64",)}.get(fmt, ("NUMBER",))
    if t == "any":
        return ("ANY",)
    if t in imports:
        path = imports[t]
        if t.endswith("ResourceQuantity"):
            return ("QUANTITY",)
        if t.endswith("IntOrString"):
            return ("INTORSTR",)
        if t.endswith("MetaV1Time") or t.endswith("MicroTime"):
            return ("TIME",)
        name = load(path)
        if not types[name]["fields"]:
            return ("ANY",)
        return ("STRUCT", name)
    raise SystemExit("unknown type %r in %s.%s" % (t, owner, field))


def load(path):
    name = openapi_name(path)
    if name in types:
        return name
    text = open(path + ".d.ts").read()
    imports = {}
    for names, spec in re.findall(r'import \{([^}]*)\} from "([^"]+)";', text):
        for n in names.split(","):
            imports[n.strip()] = resolve(path, spec)
    m = re.search(r"/\*\*(.*?)\*/\s*export interface I\w+(?: extends TypeMeta)? \{\n(.*?)\n\}", text, re.S)
    if not m:
        # an alias such as Time = string
        if re.search(r"export type I\w+ = string;", text):
            types[name] = {"alias": "STRING", "fields": [], "desc": ""}
            return name
        raise SystemExit("no interface in " + path)
    desc = doc(m.group(1))
    body = m.group(2)
    t = {"desc": desc, "fields": [], "gvk": None}
    types[name] = t
    owner = name.split(".")[-1]
    pending_doc = ""
    lines = body.split("\n")
    i = 0
    fields = []
    while i < len(lines):
        ln = lines[i]
        if ln.strip().startswith("/**"):
            buf = []
            while True:
                buf.append(lines[i])
                if lines[i].strip().endswith("*/"):
                    break
                i += 1
            pending_doc = doc("\n".join(buf).strip()[3:-2])
            i += 1
            continue
        fm = re.match(r'^    "([^"]+)"(\??): (.*)$', ln)
        if fm:
            ty = fm.group(3)
            while ty.count("{") > ty.count("}") or not ty.rstrip().endswith(";"):
                i += 1
                ty += " " + lines[i].strip()
            fields.append((fm.group(1), ty.rstrip()[:-1], pending_doc, fm.group(2) != "?"))
            pending_doc = ""
        i += 1
    for fname, ty, fdoc, req in fields:
        lit = re.match(r'^"(.*)"$', ty.strip())
        if fname == "apiVersion" and lit:
            gv = lit.group(1)
            t["gvk_gv"] = gv
        if fname == "kind" and lit and '"' not in lit.group(1):
            t["gvk_kind"] = lit.group(1)
        t["fields"].append((fname, parse_type(ty, imports, owner, fname), fdoc, req))
    order.append(name)
    return name


def doc(s):
    out = []
    for ln in s.split("\n"):
        ln = ln.strip()
        if ln.startswith("*"):
            ln = ln[1:]
            if ln.startswith(" "):
                ln = ln[1:]
        out.append(ln)
    return "\n".join(out).strip()


roots = []
for rel, group, version in ROOTS:
    roots.append((load(os.path.join(models_dir, rel)), group, version))


def ident(name):
    return "st_" + re.sub(r"[^A-Za-z0-9]", "_", name)


print("/* Generated by tools/gen-schema.py from Kubernetes' published OpenAPI")
print(" * (v1.32 field set or newer); do not edit. */")
print()
emitted = [n for n in order if types[n]["fields"]]
for n in emitted:
    print("static const struct schema_type %s;" % ident(n))
print()
for n in emitted:
    t = types[n]
    print("static const struct schema_field %s_fields[] = {" % ident(n))
    for fname, ty, fdoc, req in t["fields"]:
        kind = ty[0]
        elem = "SCHEMA_STRING"
        sub = "NULL"
        if kind in ("LIST", "MAP"):
            elem = "SCHEMA_" + ty[1]
            if ty[1] == "STRUCT":
                sub = "&" + ident(ty[2])
        elif kind == "STRUCT":
            sub = "&" + ident(ty[1])
        rel, keys, kdefs, zero = smd_field(n, fname)
        extra = ""
        if rel != "DEFAULT":
            extra += " .rel = SCHEMA_REL_%s," % rel
        if keys:
            extra += " .keys = (const char *const[]){%s, NULL}," % ", ".join(c_str(k) for k in keys)
            extra += " .key_defaults = (const char *const[]){%s}," % ", ".join(
                c_str(d) if d is not None else "NULL" for d in kdefs)
        if zero:
            extra += " .zero = true,"
        elif req and fname not in ("apiVersion", "kind"):
            extra += " .required = true,"
        print("\t{.name = %s, .kind = SCHEMA_%s, .elem = %s, .sub = %s,%s\n\t .desc = %s}," %
              (c_str(fname), kind, elem, sub, extra, c_str(fdoc)))
    print("\t{.name = NULL},")
    print("};")
    gv = t.get("gvk_gv")
    group, version = ("", gv) if gv and "/" not in gv else (gv.split("/") if gv else ("", ""))
    pkg = n.split(".")[-2]
    print("static const struct schema_type %s = {" % ident(n))
    print("\t.name = %s," % c_str(n))
    print("\t.go = %s," % c_str(n.split(".")[-1]))
    print("\t.pkg = %s," % c_str(pkg))
    print("\t.desc = %s," % c_str(t["desc"]))
    if t.get("gvk_kind") and gv:
        print("\t.group = %s, .version = %s, .kind = %s," % (c_str(group), c_str(version), c_str(t["gvk_kind"])))
    if smd.get(n, {}).get("atomic"):
        print("\t.atomic = true,")
    print("\t.fields = %s_fields," % ident(n))
    print("};")
    print()
print("static const struct schema_type *const schema_roots[] = {")
for n, group, version in roots:
    print("\t&%s," % ident(n))
print("\tNULL,")
print("};")
