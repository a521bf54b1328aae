"""pytest plugin: SMSC peers on loopback (the training SMSC, and a non-smpplib one). Owner: encoding/SMSC."""
