# Nothing is registered here on purpose: the admin would show or let someone
# query customer personal data outside the audited reveal flow, and the vault
# tables hold nothing an administrator can usefully edit (ciphertext and keys).
