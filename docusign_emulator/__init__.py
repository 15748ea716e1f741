"""A local DocuSign: account server (OAuth), eSignature v2.1 Connect endpoints, Connect delivery and
a control plane, in one separate process. Imports nothing from the project."""
