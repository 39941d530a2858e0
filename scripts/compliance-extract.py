#!/usr/bin/env python3
"""compliance-extract.py: write the control catalogues under data/frameworks/
from public sources: control ids and short titles only, never control text.

  scripts/compliance-extract.py nist OSCAL_CONTENT_CHECKOUT [COMMIT] > data/frameworks/nist-800-53-r5.json
  scripts/compliance-extract.py cis-azure PROWLER_CHECKOUT [COMMIT]  > data/frameworks/cis-azure-2.0.json
  scripts/compliance-extract.py pci PROWLER_CHECKOUT [COMMIT]        > data/frameworks/pci-dss-4.0.json
  scripts/compliance-extract.py soc2 PROWLER_CHECKOUT [COMMIT]       > data/frameworks/soc2.json

A checkout is a work tree of github.com/usnistgov/oscal-content (public
domain, CC0) or github.com/prowler-cloud/prowler (Apache-2.0); COMMIT, if
given, is recorded in the file's "source".

- nist: SP 800-53 rev. 5 controls and control enhancements selected by
  any SP 800-53B baseline (the LOW, MODERATE and HIGH baselines, which
  nest, and the PRIVACY baseline), read from the OSCAL resolved-profile
  catalogues nist.gov/SP800-53/rev5/json/NIST_SP-800-53_rev5_{HIGH,PRIVACY}-
  baseline-resolved-profile_catalog-min.json: id "AC-2" or "AC-2(3)", the
  control's title. (The full catalogue is left out only because the
  snapshot at hand lacks it; the baselines hold every control a cloud
  configuration check is likely to speak to.)
- cis-azure: every recommendation of Prowler's
  prowler/compliance/azure/cis_2.0_azure.json: its number and its
  recommendation title, nothing of its description or rationale.
- pci: the PCI DSS 4.0 requirement numbers Prowler's AWS, Azure and GCP
  mappings (prowler/compliance/*/pci_4.0_*.json) name in their "Section"
  ("1.2.5: Network security controls ..."), each titled by the short
  headline of the section it sits in, as Prowler gives it; and the
  twelve principal requirements (1-12) and every x.y sub-requirement,
  from the table PCI_REQS below (the standard's numbering), titled by
  Prowler's headline where the mappings name a requirement under it and
  otherwise in our own short words; no requirement text.
- soc2: every criterion of the Trust Services Criteria 2017, CC1.1 to
  P8.1, from the table TSC below (the TSC's numbering: each series and
  how many criteria it has), each titled by its category ("Logical and
  Physical Access", "Privacy: Notice") and, for CC1-CC5, the COSO
  principle's number; no criterion text (the AICPA's). The checkout is
  only checked: every criterion Prowler's AWS, Azure and GCP mappings
  (prowler/compliance/*/soc2_*.json) name must be in the table.
"""

import json
import os
import re
import sys

PROVIDERS = ("aws", "azure", "gcp")


def nist(root):
    out = {}
    version = None
    for b in ("HIGH", "PRIVACY"):
        path = os.path.join(root, "nist.gov", "SP800-53", "rev5", "json",
                            "NIST_SP-800-53_rev5_%s-baseline-resolved-"
                            "profile_catalog-min.json" % b)
        with open(path, encoding="utf-8") as f:
            cat = json.load(f)["catalog"]
        version = cat["metadata"].get("version", version)

        def walk(ctrls):
            for c in ctrls:
                withdrawn = any(p.get("name") == "status" and
                                p.get("value") == "withdrawn"
                                for p in c.get("props", []))
                if not withdrawn:
                    out[label(c["id"])] = (sort_key(c["id"]), c["title"])
                walk(c.get("controls", []))

        for g in cat["groups"]:
            walk(g.get("controls", []))
    ctrls = [{"id": k, "title": v[1]}
             for k, v in sorted(out.items(), key=lambda kv: kv[1][0])]
    return version, ctrls


def label(oscal_id):
    """ac-2.3 -> AC-2(3)"""
    base, _, enh = oscal_id.partition(".")
    fam, _, num = base.partition("-")
    s = "%s-%s" % (fam.upper(), num)
    return s + ("(%s)" % enh if enh else "")


def sort_key(oscal_id):
    base, _, enh = oscal_id.partition(".")
    fam, _, num = base.partition("-")
    return (fam, int(num), int(enh) if enh else 0)


def prowler(root, name):
    path = os.path.join(root, "prowler", "compliance", name)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def num_key(s):
    return [(0, int(p)) if p.isdigit() else (1, p)
            for p in re.split(r"[.]", s)]


def cis_azure(root):
    d = prowler(root, "azure/cis_2.0_azure.json")
    ctrls = [{"id": r["Id"], "title": r["Description"].strip()}
             for r in d["Requirements"]]
    ctrls.sort(key=lambda c: num_key(c["id"]))
    return d.get("Version"), ctrls


# PCI DSS 4.0's twelve principal requirements and their x.y
# sub-requirements, numbered as the standard numbers them, titled in our
# own short words (never the standard's text). An x.y the mappings name a
# requirement under takes the section headline Prowler gives it instead,
# like its x.y.z entries. None is an x.1 on the requirement's policies,
# procedures and roles (1-11; requirement 12's x.1 is the security
# policy itself).
PCI_REQS = (
    ("1", "Network security controls", (
        None,
        "Configuration and maintenance of network security controls",
        "Restricting network access to and from the CDE",
        "Controlling connections between trusted and untrusted networks",
        "Devices that connect to both untrusted networks and the CDE")),
    ("2", "Secure configuration of system components", (
        None,
        "Secure configuration and management of system components",
        "Secure wireless environments")),
    ("3", "Protection of stored account data", (
        None,
        "Keeping stored account data to a minimum",
        "No sensitive authentication data kept after authorisation",
        "Restricting the display and copying of full PAN",
        "Securing PAN wherever it is stored",
        "Securing the keys that protect stored account data",
        "Key lifecycle management for stored account data")),
    ("4", "Strong cryptography for cardholder data sent over public "
     "networks", (
        None,
        "Strong cryptography for PAN in transmission",)),
    ("5", "Protection from malicious software", (
        None,
        "Preventing, or detecting and addressing, malware",
        "Anti-malware kept active, maintained and monitored",
        "Protecting users against phishing")),
    ("6", "Secure systems and software", (
        None,
        "Secure development of bespoke and custom software",
        "Identifying and addressing security vulnerabilities",
        "Protecting public-facing web applications against attacks",
        "Managing changes to system components securely")),
    ("7", "Access restricted by business need to know", (
        None,
        "Defining and assigning access to system components and data",
        "Managing access through access control systems")),
    ("8", "User identification and authentication", (
        None,
        "Managing user identities and accounts across their lifecycle",
        "Strong authentication of users and administrators",
        "Multi-factor authentication into the CDE",
        "Configuring MFA systems against misuse",
        "Managing application and system accounts and their "
        "credentials")),
    ("9", "Physical access to cardholder data", (
        None,
        "Physical entry controls for facilities and systems with "
        "cardholder data",
        "Authorising and managing physical access of personnel and "
        "visitors",
        "Storing, handling, distributing and destroying media with "
        "cardholder data",
        "Protecting point-of-interaction devices against tampering and "
        "substitution")),
    ("10", "Logging and monitoring of access", (
        None,
        "Audit logs that support detection and forensic analysis",
        "Protecting audit logs from destruction and modification",
        "Reviewing audit logs for anomalies",
        "Retaining audit log history",
        "Time synchronisation across systems",
        "Detecting and responding to failures of critical security "
        "controls")),
    ("11", "Regular testing of the security of systems and networks", (
        None,
        "Identifying and monitoring wireless access points",
        "Identifying, ranking and addressing vulnerabilities",
        "External and internal penetration testing",
        "Detecting and responding to intrusions and unexpected file "
        "changes",
        "Detecting unauthorised changes to payment pages")),
    ("12", "Organisational security policies and programmes", (
        "Information security policy",
        "Acceptable use of end-user technologies",
        "Identifying, evaluating and managing risks to the CDE",
        "Managing PCI DSS compliance",
        "Documenting and validating PCI DSS scope",
        "Security awareness education",
        "Screening of personnel",
        "Managing risk from third-party service providers",
        "Third-party service providers supporting customers' compliance",
        "Responding to security incidents that affect the CDE")),
)


def pci(root):
    out = {}
    sec = re.compile(r"\s*([A-Z]?[0-9]+(?:\.[0-9]+)+)\s*:\s*(.*\S)\s*$")
    for p in PROVIDERS:
        d = prowler(root, "%s/pci_4.0_%s.json" % (p, p))
        if d is None:
            continue
        for r in d["Requirements"]:
            for a in r.get("Attributes", []):
                m = sec.match(a.get("Section", ""))
                if m:
                    out.setdefault(m.group(1), m.group(2).rstrip("."))
    # The headline of an x.y.z's section is its x.y's.
    headline = {}
    for k in sorted(out, key=num_key):
        headline.setdefault(".".join(k.split(".")[:2]), out[k])
    for req, title, subs in PCI_REQS:
        out.setdefault(req, title)
        for i, t in enumerate(subs):
            sub = "%s.%d" % (req, i + 1)
            if t is None:
                t = "Policies, procedures and roles for requirement " + req
            out.setdefault(sub, headline.get(sub, t))
    ctrls = [{"id": k, "title": out[k]}
             for k in sorted(out, key=num_key)]
    return "4.0", ctrls


# The Trust Services Criteria 2017 (points of focus revised 2022): each
# series, its category's name and how many criteria it numbers, with, for
# CC1-CC5, the COSO 2013 principle the first criterion restates (the rest
# follow in order). The numbering and the category names are the TSC's
# structure; the titles are those names, never the criterion text (the
# AICPA's).
TSC = (
    ("CC1", "Control Environment", 5, 1),
    ("CC2", "Communication and Information", 3, 13),
    ("CC3", "Risk Assessment", 4, 6),
    ("CC4", "Monitoring Activities", 2, 16),
    ("CC5", "Control Activities", 3, 10),
    ("CC6", "Logical and Physical Access", 8, None),
    ("CC7", "System Operations", 5, None),
    ("CC8", "Change Management", 1, None),
    ("CC9", "Risk Mitigation", 2, None),
    ("A1", "Additional Criteria for Availability", 3, None),
    ("C1", "Additional Criteria for Confidentiality", 2, None),
    ("PI1", "Additional Criteria for Processing Integrity", 5, None),
    ("P1", "Privacy: Notice", 1, None),
    ("P2", "Privacy: Choice and Consent", 1, None),
    ("P3", "Privacy: Collection", 2, None),
    ("P4", "Privacy: Use, Retention and Disposal", 3, None),
    ("P5", "Privacy: Access", 2, None),
    ("P6", "Privacy: Disclosure and Notification", 7, None),
    ("P7", "Privacy: Quality", 1, None),
    ("P8", "Privacy: Monitoring and Enforcement", 1, None),
)


def soc2(root):
    """Every criterion of the TSC table above. ROOT, a Prowler checkout,
    is only checked against it: a criterion Prowler's mappings name that
    the table lacks (a new revision of the TSC) stops the script rather
    than leaving rules pointing at nothing."""
    ctrls = []
    for series, name, count, coso in TSC:
        for i in range(count):
            title = name
            if coso is not None:
                title += " (COSO Principle %d)" % (coso + i)
            ctrls.append({"id": "%s.%d" % (series, i + 1), "title": title})
    known = {c["id"] for c in ctrls}
    crit = re.compile(r"^((?:CC|A|C|PI|P)[0-9]+\.[0-9]+)\b")
    for p in PROVIDERS:
        d = prowler(root, "%s/soc2_%s.json" % (p, p))
        if d is None:
            continue
        for r in d["Requirements"]:
            m = crit.match(r["Name"].strip())
            if m and m.group(1) not in known:
                sys.exit("soc2: Prowler's %s mapping names %s, which the "
                         "TSC table lacks" % (p, m.group(1)))
    return "2017 (revised points of focus 2022)", ctrls


FRAMEWORKS = {
    "nist": ("nist-800-53-r5", "NIST SP 800-53 rev. 5", nist,
             "NIST SP 800-53 rev. 5 (OSCAL), github.com/usnistgov/"
             "oscal-content, nist.gov/SP800-53/rev5/json/NIST_SP-800-53_"
             "rev5_{HIGH,PRIVACY}-baseline-resolved-profile_catalog-min.json"
             ": the controls of the SP 800-53B baselines",
             "A work of the US government, in the public domain; "
             "oscal-content waives copyright worldwide under CC0 1.0."),
    "cis-azure": ("cis-azure-2.0", "CIS Microsoft Azure Foundations "
                  "Benchmark 2.0.0", cis_azure,
                  "Prowler's mapping github.com/prowler-cloud/prowler, "
                  "prowler/compliance/azure/cis_2.0_azure.json",
                  "Recommendation numbers and titles only, as Prowler "
                  "(Apache-2.0) publishes them; the benchmark itself is "
                  "the Center for Internet Security's and is not "
                  "reproduced."),
    "pci": ("pci-dss-4.0", "PCI DSS 4.0", pci,
            "Prowler's mappings github.com/prowler-cloud/prowler, "
            "prowler/compliance/{aws,azure,gcp}/pci_4.0_*.json: the "
            "requirement numbers they name, titled by the section headline; "
            "and the twelve principal requirements and every x.y "
            "sub-requirement in the standard's numbering, those the "
            "mappings do not name titled in Vigil's own short words",
            "Requirement numbers, section headlines as Prowler "
            "(Apache-2.0) publishes them, and short titles of Vigil's own; "
            "the standard is the PCI Security "
            "Standards Council's and its requirement text is not "
            "reproduced."),
    "soc2": ("soc2", "SOC 2 Trust Services Criteria", soc2,
             "The AICPA's Trust Services Criteria 2017 (revised points of "
             "focus 2022): every criterion id in the TSC's numbering, "
             "titled by its category's name (and, for CC1-CC5, its COSO "
             "principle's number); checked against Prowler's mappings "
             "github.com/prowler-cloud/prowler, "
             "prowler/compliance/{aws,azure,gcp}/soc2_*.json",
             "Criterion numbers and category names only; the criteria "
             "text is the AICPA's and is not reproduced."),
}


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in FRAMEWORKS:
        sys.exit(__doc__)
    fid, name, fn, source, licence = FRAMEWORKS[sys.argv[1]]
    version, ctrls = fn(sys.argv[2])
    doc = {
        "id": fid,
        "name": name,
        "version": version or "",
        "source": source,
        "source_commit": sys.argv[3] if len(sys.argv) == 4 else "",
        "license": licence,
        "generated_by": "scripts/compliance-extract.py %s CHECKOUT%s" % (
            sys.argv[1], " " + sys.argv[3] if len(sys.argv) == 4 else ""),
        "controls": ctrls,
    }
    # One control a line: diffs between versions read as lists.
    head = json.dumps({k: v for k, v in doc.items() if k != "controls"},
                      indent="\t", ensure_ascii=False)
    sys.stdout.write(head[:-2] + ',\n\t"controls": [\n')
    sys.stdout.write(",\n".join("\t\t" + json.dumps(c, ensure_ascii=False)
                                for c in ctrls))
    sys.stdout.write("\n\t]\n}\n")


if __name__ == "__main__":
    main()
