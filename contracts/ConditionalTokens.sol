// SPDX-License-Identifier: MIT
// Conditional Tokens for development chains and tests: the external ABI of Gnosis'
// ConditionalTokens as Polymarket uses it on Polygon (0x4D97DCd97eC945f40cF65F87097ACe5EA0476045)
// for the functions below, written from scratch. Outcome positions are ERC-1155 tokens
// backed one-to-one by an ERC-20 collateral (USDC on Polygon, TestToken on anvil).
//
// What differs from the deployed contract:
// - Only positions directly on collateral (parentCollectionId == 0): splitting, merging and
//   redeeming nested positions reverts with "nested positions are not supported".
// - Collection ids: the deployed contract derives them on alt_bn128 (an elliptic-curve point
//   per (condition, index set), added for nested positions); here a collection id is
//   keccak256(abi.encodePacked(parentCollectionId, conditionId, indexSet)), the rule of the
//   releases before 1.0. Position ids (getPositionId) are therefore not mainnet's. That is
//   harmless for the platform: it never derives ids, it takes token ids from the venue's API.
// - No URI, and no ERC-1155 metadata extension.
pragma solidity ^0.8.20;

// The collateral's ERC-20 functions used here (named so as not to clash with UniswapV2.sol's IERC20:
// contract artifacts are keyed by name). In the ABI a contract type is an `address`.
interface IERC20Collateral {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

interface IERC1155Receiver {
    function onERC1155Received(address operator, address from, uint256 id, uint256 value, bytes calldata data)
        external returns (bytes4);
    function onERC1155BatchReceived(
        address operator, address from, uint256[] calldata ids, uint256[] calldata values, bytes calldata data
    ) external returns (bytes4);
}

contract ConditionalTokens {
    event ConditionPreparation(
        bytes32 indexed conditionId, address indexed oracle, bytes32 indexed questionId, uint256 outcomeSlotCount
    );
    event ConditionResolution(
        bytes32 indexed conditionId, address indexed oracle, bytes32 indexed questionId, uint256 outcomeSlotCount,
        uint256[] payoutNumerators
    );
    event PositionSplit(
        address indexed stakeholder, IERC20Collateral collateralToken, bytes32 indexed parentCollectionId,
        bytes32 indexed conditionId, uint256[] partition, uint256 amount
    );
    event PositionsMerge(
        address indexed stakeholder, IERC20Collateral collateralToken, bytes32 indexed parentCollectionId,
        bytes32 indexed conditionId, uint256[] partition, uint256 amount
    );
    event PayoutRedemption(
        address indexed redeemer, IERC20Collateral indexed collateralToken, bytes32 indexed parentCollectionId,
        bytes32 conditionId, uint256[] indexSets, uint256 payout
    );
    event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value);
    event TransferBatch(
        address indexed operator, address indexed from, address indexed to, uint256[] ids, uint256[] values
    );
    event ApprovalForAll(address indexed owner, address indexed operator, bool approved);

    // One numerator per outcome slot; an empty array means "not prepared". The public
    // getters are the deployed contract's payoutNumerators(bytes32,uint) and payoutDenominator(bytes32).
    mapping(bytes32 => uint256[]) public payoutNumerators;
    // Zero until the oracle reports: "resolved" is payoutDenominator > 0.
    mapping(bytes32 => uint256) public payoutDenominator;

    mapping(uint256 => mapping(address => uint256)) private _balances;
    mapping(address => mapping(address => bool)) private _operators;

    // -- conditions ---------------------------------------------------------------------

    function prepareCondition(address oracle, bytes32 questionId, uint256 outcomeSlotCount) external {
        require(outcomeSlotCount <= 256, "too many outcome slots");
        require(outcomeSlotCount > 1, "there should be more than one outcome slot");
        bytes32 conditionId = getConditionId(oracle, questionId, outcomeSlotCount);
        require(payoutNumerators[conditionId].length == 0, "condition already prepared");
        payoutNumerators[conditionId] = new uint256[](outcomeSlotCount);
        emit ConditionPreparation(conditionId, oracle, questionId, outcomeSlotCount);
    }

    /// The oracle (msg.sender) resolves its question: outcome i pays payouts[i] / sum(payouts).
    function reportPayouts(bytes32 questionId, uint256[] calldata payouts) external {
        uint256 outcomeSlotCount = payouts.length;
        require(outcomeSlotCount > 1, "there should be more than one outcome slot");
        bytes32 conditionId = getConditionId(msg.sender, questionId, outcomeSlotCount);
        uint256[] storage numerators = payoutNumerators[conditionId];
        require(numerators.length == outcomeSlotCount, "condition not prepared or found");
        require(payoutDenominator[conditionId] == 0, "payout denominator already set");
        uint256 denominator = 0;
        for (uint256 i = 0; i < outcomeSlotCount; i++) {
            denominator += payouts[i];
            numerators[i] = payouts[i];
        }
        require(denominator > 0, "payout is all zeroes");
        payoutDenominator[conditionId] = denominator;
        emit ConditionResolution(conditionId, msg.sender, questionId, outcomeSlotCount, payouts);
    }

    // -- positions ----------------------------------------------------------------------

    /// Collateral (full partition) or the union of the partition's index sets (a partial one)
    /// becomes `amount` of each position in `partition`.
    function splitPosition(
        IERC20Collateral collateralToken, bytes32 parentCollectionId, bytes32 conditionId, uint256[] calldata partition, uint256 amount
    ) external {
        (uint256[] memory ids, uint256 union, uint256 fullIndexSet) =
            _partition(collateralToken, parentCollectionId, conditionId, partition);
        if (union == fullIndexSet) {
            require(collateralToken.transferFrom(msg.sender, address(this), amount), "could not receive collateral tokens");
        } else {
            _burn(msg.sender, _positionId(collateralToken, conditionId, union), amount);
        }
        _mintBatch(msg.sender, ids, _repeat(amount, ids.length));
        emit PositionSplit(msg.sender, collateralToken, parentCollectionId, conditionId, partition, amount);
    }

    /// The inverse of splitPosition: `amount` of each position in `partition` becomes
    /// collateral (full partition) or `amount` of the union's position.
    function mergePositions(
        IERC20Collateral collateralToken, bytes32 parentCollectionId, bytes32 conditionId, uint256[] calldata partition, uint256 amount
    ) external {
        (uint256[] memory ids, uint256 union, uint256 fullIndexSet) =
            _partition(collateralToken, parentCollectionId, conditionId, partition);
        _burnBatch(msg.sender, ids, _repeat(amount, ids.length));
        if (union == fullIndexSet) {
            require(collateralToken.transfer(msg.sender, amount), "could not send collateral tokens");
        } else {
            _mint(msg.sender, _positionId(collateralToken, conditionId, union), amount);
        }
        emit PositionsMerge(msg.sender, collateralToken, parentCollectionId, conditionId, partition, amount);
    }

    /// Burns the caller's whole balance of each index set's position and pays, per position,
    /// balance * (sum of its outcomes' numerators) / denominator, as the deployed contract does.
    function redeemPositions(
        IERC20Collateral collateralToken, bytes32 parentCollectionId, bytes32 conditionId, uint256[] calldata indexSets
    ) external {
        require(parentCollectionId == bytes32(0), "nested positions are not supported");
        uint256 denominator = payoutDenominator[conditionId];
        require(denominator > 0, "result for condition not received yet");
        uint256[] storage numerators = payoutNumerators[conditionId];
        uint256 fullIndexSet = _fullIndexSet(numerators.length);
        uint256 payout = 0;
        for (uint256 i = 0; i < indexSets.length; i++) {
            uint256 indexSet = indexSets[i];
            require(indexSet > 0 && indexSet < fullIndexSet, "got invalid index set");
            uint256 numerator = 0;
            for (uint256 j = 0; j < numerators.length; j++) {
                if (indexSet & (1 << j) != 0) numerator += numerators[j];
            }
            uint256 id = _positionId(collateralToken, conditionId, indexSet);
            uint256 stake = _balances[id][msg.sender];
            if (stake > 0) {
                payout += stake * numerator / denominator;
                _burn(msg.sender, id, stake);
            }
        }
        if (payout > 0) {
            require(collateralToken.transfer(msg.sender, payout), "could not transfer payout to message sender");
        }
        emit PayoutRedemption(msg.sender, collateralToken, parentCollectionId, conditionId, indexSets, payout);
    }

    // -- ids ----------------------------------------------------------------------------

    function getConditionId(address oracle, bytes32 questionId, uint256 outcomeSlotCount) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(oracle, questionId, outcomeSlotCount));
    }

    /// Not mainnet's (alt_bn128) derivation: see the header comment.
    function getCollectionId(bytes32 parentCollectionId, bytes32 conditionId, uint256 indexSet) public pure returns (bytes32) {
        require(parentCollectionId == bytes32(0), "nested positions are not supported");
        return keccak256(abi.encodePacked(parentCollectionId, conditionId, indexSet));
    }

    function getPositionId(IERC20Collateral collateralToken, bytes32 collectionId) public pure returns (uint256) {
        return uint256(keccak256(abi.encodePacked(collateralToken, collectionId)));
    }

    function getOutcomeSlotCount(bytes32 conditionId) external view returns (uint256) {
        return payoutNumerators[conditionId].length;
    }

    // -- ERC-1155 -----------------------------------------------------------------------

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 || interfaceId == 0xd9b67a26; // ERC-165, ERC-1155
    }

    function balanceOf(address owner, uint256 id) external view returns (uint256) {
        return _balances[id][owner];
    }

    function balanceOfBatch(address[] calldata owners, uint256[] calldata ids) external view returns (uint256[] memory balances) {
        require(owners.length == ids.length, "ERC1155: owners and ids length mismatch");
        balances = new uint256[](owners.length);
        for (uint256 i = 0; i < owners.length; i++) balances[i] = _balances[ids[i]][owners[i]];
    }

    function setApprovalForAll(address operator, bool approved) external {
        require(operator != msg.sender, "ERC1155: setting approval status for self");
        _operators[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    function isApprovedForAll(address owner, address operator) public view returns (bool) {
        return _operators[owner][operator];
    }

    function safeTransferFrom(address from, address to, uint256 id, uint256 value, bytes calldata data) external {
        require(to != address(0), "ERC1155: transfer to the zero address");
        require(from == msg.sender || isApprovedForAll(from, msg.sender), "ERC1155: caller is not owner nor approved");
        _move(from, to, id, value);
        emit TransferSingle(msg.sender, from, to, id, value);
        _checkReceived(from, to, id, value, data);
    }

    function safeBatchTransferFrom(
        address from, address to, uint256[] calldata ids, uint256[] calldata values, bytes calldata data
    ) external {
        require(ids.length == values.length, "ERC1155: ids and values length mismatch");
        require(to != address(0), "ERC1155: transfer to the zero address");
        require(from == msg.sender || isApprovedForAll(from, msg.sender), "ERC1155: caller is not owner nor approved");
        for (uint256 i = 0; i < ids.length; i++) _move(from, to, ids[i], values[i]);
        emit TransferBatch(msg.sender, from, to, ids, values);
        _checkBatchReceived(from, to, ids, values, data);
    }

    // -- internals ----------------------------------------------------------------------

    /// Checks a partition of the condition's outcome slots: non-empty, proper, disjoint
    /// index sets. Returns their position ids, their union and the full index set.
    function _partition(IERC20Collateral collateralToken, bytes32 parentCollectionId, bytes32 conditionId, uint256[] calldata partition)
        private view returns (uint256[] memory ids, uint256 union, uint256 fullIndexSet)
    {
        require(parentCollectionId == bytes32(0), "nested positions are not supported");
        require(partition.length > 1, "got empty or singleton partition");
        uint256 outcomeSlotCount = payoutNumerators[conditionId].length;
        require(outcomeSlotCount > 0, "condition not prepared yet");
        fullIndexSet = _fullIndexSet(outcomeSlotCount);
        ids = new uint256[](partition.length);
        for (uint256 i = 0; i < partition.length; i++) {
            uint256 indexSet = partition[i];
            require(indexSet > 0 && indexSet < fullIndexSet, "got invalid index set");
            require(union & indexSet == 0, "partition not disjoint");
            union |= indexSet;
            ids[i] = _positionId(collateralToken, conditionId, indexSet);
        }
    }

    function _fullIndexSet(uint256 outcomeSlotCount) private pure returns (uint256) {
        // (1 << 256) would wrap to 0: shift all-ones right instead.
        return type(uint256).max >> (256 - outcomeSlotCount);
    }

    function _positionId(IERC20Collateral collateralToken, bytes32 conditionId, uint256 indexSet) private pure returns (uint256) {
        return getPositionId(collateralToken, getCollectionId(bytes32(0), conditionId, indexSet));
    }

    function _repeat(uint256 value, uint256 count) private pure returns (uint256[] memory values) {
        values = new uint256[](count);
        for (uint256 i = 0; i < count; i++) values[i] = value;
    }

    function _move(address from, address to, uint256 id, uint256 value) private {
        uint256 balance = _balances[id][from];
        require(balance >= value, "ERC1155: insufficient balance for transfer");
        _balances[id][from] = balance - value;
        _balances[id][to] += value;
    }

    function _mint(address to, uint256 id, uint256 value) private {
        _balances[id][to] += value;
        emit TransferSingle(msg.sender, address(0), to, id, value);
        _checkReceived(address(0), to, id, value, "");
    }

    function _mintBatch(address to, uint256[] memory ids, uint256[] memory values) private {
        for (uint256 i = 0; i < ids.length; i++) _balances[ids[i]][to] += values[i];
        emit TransferBatch(msg.sender, address(0), to, ids, values);
        _checkBatchReceived(address(0), to, ids, values, "");
    }

    function _burn(address from, uint256 id, uint256 value) private {
        uint256 balance = _balances[id][from];
        require(balance >= value, "ERC1155: burn amount exceeds balance");
        _balances[id][from] = balance - value;
        emit TransferSingle(msg.sender, from, address(0), id, value);
    }

    function _burnBatch(address from, uint256[] memory ids, uint256[] memory values) private {
        for (uint256 i = 0; i < ids.length; i++) {
            uint256 balance = _balances[ids[i]][from];
            require(balance >= values[i], "ERC1155: burn amount exceeds balance");
            _balances[ids[i]][from] = balance - values[i];
        }
        emit TransferBatch(msg.sender, from, address(0), ids, values);
    }

    // Receiver hooks run only for contract recipients, as ERC-1155 requires.
    function _checkReceived(address from, address to, uint256 id, uint256 value, bytes memory data) private {
        if (to.code.length == 0) return;
        try IERC1155Receiver(to).onERC1155Received(msg.sender, from, id, value, data) returns (bytes4 answer) {
            require(answer == IERC1155Receiver.onERC1155Received.selector, "ERC1155: ERC1155Receiver rejected tokens");
        } catch {
            revert("ERC1155: transfer to non ERC1155Receiver implementer");
        }
    }

    function _checkBatchReceived(
        address from, address to, uint256[] memory ids, uint256[] memory values, bytes memory data
    ) private {
        if (to.code.length == 0) return;
        try IERC1155Receiver(to).onERC1155BatchReceived(msg.sender, from, ids, values, data) returns (bytes4 answer) {
            require(answer == IERC1155Receiver.onERC1155BatchReceived.selector, "ERC1155: ERC1155Receiver rejected tokens");
        } catch {
            revert("ERC1155: transfer to non ERC1155Receiver implementer");
        }
    }
}
