import json

TYPES = {
    "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"},
                     {"name": "verifyingContract", "type": "address"}],
    "Order": [{"name": "maker", "type": "address"}, {"name": "amount", "type": "uint256"}],
}


def typed(name, contract, maker):
    return {"domain": {"name": name, "chainId": 31337, "verifyingContract": contract},
            "types": TYPES, "primaryType": "Order", "message": {"maker": maker, "amount": 5}}


def run(agent):
    personal = agent.sign_message({"messageType": "eip191", "chainId": 31337, "data": {"message": "hello corral"}})
    agent.log(json.dumps({"eip191": personal.data.formattedSignature if personal.success else None, "error": personal.error}))
    allowed = agent.sign_message({"messageType": "eip712", "chainId": 31337,
                                  "data": typed("Corral Exchange", "0x" + "cc" * 20, agent.sessionWalletAddress)})
    agent.log(json.dumps({"eip712": allowed.data.formattedSignature if allowed.success else None, "error": allowed.error}))
    other = agent.sign_message({"messageType": "eip712", "chainId": 31337,
                                "data": typed("Phishing Permit", "0x" + "dd" * 20, agent.sessionWalletAddress)})
    agent.log(json.dumps({"other": other.success, "error": other.error}))
