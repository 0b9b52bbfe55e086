#!/usr/bin/env python3
"""Drives moto_server for the deploy kit's end-to-end test, with boto3.

  moto_stack.py ENDPOINT deploy TEMPLATE PARAMETERS_JSON   -> prints the queue URL
      the rule of contrib/cloudformation.json (its EventPattern and input
      transformer, parameters resolved) on the default bus, an SQS queue as
      its target
  moto_stack.py ENDPOINT put ENTRIES_JSON                 -> puts events (unrelated ones)
  moto_stack.py ENDPOINT receive QUEUE_URL                -> prints the message bodies (JSON list)
"""
import json
import sys

import boto3

endpoint, command = sys.argv[1], sys.argv[2]
session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                region_name="us-east-1")
events = session.client("events", endpoint_url=endpoint)
sqs = session.client("sqs", endpoint_url=endpoint)


def resolve(value, parameters):
    """The template value with {"Ref": parameter} and Fn::If on parameters resolved."""
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return parameters[value["Ref"]]
        if set(value) == {"Fn::If"}:
            condition, yes, no = value["Fn::If"]
            return resolve(yes if parameters["__conditions"][condition] else no, parameters)
        return {k: resolve(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, parameters) for v in value]
    return value


def conditions(template, parameters):
    """Each condition of the template, for these parameters (Fn::Not and Fn::Equals only)."""
    def evaluate(c):
        if "Fn::Not" in c:
            return not evaluate(c["Fn::Not"][0])
        if "Fn::Equals" in c:
            a, b = (resolve(x, parameters) for x in c["Fn::Equals"])
            return a == b
        if "Condition" in c:
            return evaluate(template["Conditions"][c["Condition"]])
        raise ValueError(c)
    return {name: evaluate(c) for name, c in template.get("Conditions", {}).items()}


if command == "deploy":
    template = json.load(open(sys.argv[3]))
    given = json.loads(sys.argv[4])
    parameters = {k: v.get("Default") for k, v in template["Parameters"].items()}
    parameters.update(given)
    parameters["__conditions"] = conditions(template, parameters)
    rule = template["Resources"]["SessionRule"]["Properties"]
    queue = sqs.create_queue(QueueName="tattle-alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="tattle-sessions", EventPattern=json.dumps(resolve(rule["EventPattern"], parameters)))
    transformer = resolve(rule["Targets"][0]["InputTransformer"], parameters)
    events.put_targets(Rule="tattle-sessions", Targets=[{"Id": "queue", "Arn": arn, "InputTransformer": transformer}])
    print(queue)
elif command == "put":
    result = events.put_events(Entries=json.loads(sys.argv[3]))
    assert result["FailedEntryCount"] == 0, result
elif command == "receive":
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=sys.argv[3], MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for m in messages:
            bodies.append(m["Body"])
            sqs.delete_message(QueueUrl=sys.argv[3], ReceiptHandle=m["ReceiptHandle"])
    print(json.dumps(bodies))
