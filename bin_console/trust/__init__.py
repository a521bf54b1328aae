"""What keeps the console trustworthy: who acts, the audit chain, secrets, logs that never hold them, text made safe."""
