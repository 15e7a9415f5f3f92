"""The `eservice` command."""
def main(argv=None):
    print("eservice")
