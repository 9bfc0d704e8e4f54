import json

with open("data.json") as f:
    print(json.load(f)["name"])
