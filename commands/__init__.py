"""The `claims` CLI's sub-apps, one per noun, joined in cli.py."""
