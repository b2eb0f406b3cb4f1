// SPDX-License-Identifier: MIT
// A small constant-product exchange with Uniswap V2's interface (factory.getPair,
// pair.getReserves/token0/token1/swap, router.getAmountsOut/swapExactTokensForTokens and a
// simple addLiquidity), so the orchestrator's Uniswap-V2 engine runs on a development chain
// exactly as it would against a real V2 deployment. 0.3% fee, as in V2. No LP tokens:
// liquidity is only for development.
pragma solidity ^0.8.20;

interface IERC20 {
    function balanceOf(address) external view returns (uint256);
    function transfer(address, uint256) external returns (bool);
    function transferFrom(address, address, uint256) external returns (bool);
}

contract UniswapV2Pair {
    address public immutable factory;
    address public token0;
    address public token1;
    uint112 private reserve0;
    uint112 private reserve1;
    uint32 private blockTimestampLast;

    event Sync(uint112 reserve0, uint112 reserve1);

    constructor() { factory = msg.sender; }

    function initialize(address _token0, address _token1) external {
        require(msg.sender == factory, "FORBIDDEN");
        token0 = _token0;
        token1 = _token1;
    }

    function getReserves() public view returns (uint112, uint112, uint32) {
        return (reserve0, reserve1, blockTimestampLast);
    }

    // Takes whatever was transferred in as liquidity.
    function sync() public {
        reserve0 = uint112(IERC20(token0).balanceOf(address(this)));
        reserve1 = uint112(IERC20(token1).balanceOf(address(this)));
        blockTimestampLast = uint32(block.timestamp);
        emit Sync(reserve0, reserve1);
    }

    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata) external {
        require(amount0Out > 0 || amount1Out > 0, "INSUFFICIENT_OUTPUT_AMOUNT");
        (uint112 r0, uint112 r1,) = getReserves();
        require(amount0Out < r0 && amount1Out < r1, "INSUFFICIENT_LIQUIDITY");
        if (amount0Out > 0) require(IERC20(token0).transfer(to, amount0Out), "TRANSFER_FAILED");
        if (amount1Out > 0) require(IERC20(token1).transfer(to, amount1Out), "TRANSFER_FAILED");
        uint256 balance0 = IERC20(token0).balanceOf(address(this));
        uint256 balance1 = IERC20(token1).balanceOf(address(this));
        uint256 amount0In = balance0 > r0 - amount0Out ? balance0 - (r0 - amount0Out) : 0;
        uint256 amount1In = balance1 > r1 - amount1Out ? balance1 - (r1 - amount1Out) : 0;
        require(amount0In > 0 || amount1In > 0, "INSUFFICIENT_INPUT_AMOUNT");
        uint256 adjusted0 = balance0 * 1000 - amount0In * 3;
        uint256 adjusted1 = balance1 * 1000 - amount1In * 3;
        require(adjusted0 * adjusted1 >= uint256(r0) * uint256(r1) * 1000 ** 2, "K");
        sync();
    }
}

contract UniswapV2Factory {
    mapping(address => mapping(address => address)) public getPair;
    address[] public allPairs;

    event PairCreated(address indexed token0, address indexed token1, address pair, uint256);

    function createPair(address tokenA, address tokenB) public returns (address pair) {
        require(tokenA != tokenB, "IDENTICAL_ADDRESSES");
        (address token0, address token1) = tokenA < tokenB ? (tokenA, tokenB) : (tokenB, tokenA);
        require(getPair[token0][token1] == address(0), "PAIR_EXISTS");
        pair = address(new UniswapV2Pair());
        UniswapV2Pair(pair).initialize(token0, token1);
        getPair[token0][token1] = pair;
        getPair[token1][token0] = pair;
        allPairs.push(pair);
        emit PairCreated(token0, token1, pair, allPairs.length);
    }
}

contract UniswapV2Router02 {
    address public immutable factory;

    constructor(address _factory) { factory = _factory; }

    function getAmountOut(uint256 amountIn, uint256 reserveIn, uint256 reserveOut) public pure returns (uint256) {
        require(amountIn > 0, "INSUFFICIENT_INPUT_AMOUNT");
        require(reserveIn > 0 && reserveOut > 0, "INSUFFICIENT_LIQUIDITY");
        uint256 withFee = amountIn * 997;
        return withFee * reserveOut / (reserveIn * 1000 + withFee);
    }

    function getAmountsOut(uint256 amountIn, address[] memory path) public view returns (uint256[] memory amounts) {
        require(path.length >= 2, "INVALID_PATH");
        amounts = new uint256[](path.length);
        amounts[0] = amountIn;
        for (uint256 i; i < path.length - 1; i++) {
            (uint256 reserveIn, uint256 reserveOut) = _reserves(path[i], path[i + 1]);
            amounts[i + 1] = getAmountOut(amounts[i], reserveIn, reserveOut);
        }
    }

    function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] calldata path, address to, uint256 deadline)
        external returns (uint256[] memory amounts)
    {
        require(deadline >= block.timestamp, "EXPIRED");
        amounts = getAmountsOut(amountIn, path);
        require(amounts[amounts.length - 1] >= amountOutMin, "INSUFFICIENT_OUTPUT_AMOUNT");
        require(IERC20(path[0]).transferFrom(msg.sender, _pair(path[0], path[1]), amounts[0]), "TRANSFER_FROM_FAILED");
        for (uint256 i; i < path.length - 1; i++) {
            (address input, address output) = (path[i], path[i + 1]);
            address token0 = input < output ? input : output;
            uint256 amountOut = amounts[i + 1];
            (uint256 amount0Out, uint256 amount1Out) = input == token0 ? (uint256(0), amountOut) : (amountOut, uint256(0));
            address recipient = i < path.length - 2 ? _pair(output, path[i + 2]) : to;
            UniswapV2Pair(_pair(input, output)).swap(amount0Out, amount1Out, recipient, new bytes(0));
        }
    }

    // Development liquidity: moves both amounts into the pair (creating it if needed).
    function addLiquidity(address tokenA, address tokenB, uint256 amountA, uint256 amountB) external returns (address pair) {
        pair = UniswapV2Factory(factory).getPair(tokenA, tokenB);
        if (pair == address(0)) pair = UniswapV2Factory(factory).createPair(tokenA, tokenB);
        require(IERC20(tokenA).transferFrom(msg.sender, pair, amountA), "TRANSFER_FROM_FAILED");
        require(IERC20(tokenB).transferFrom(msg.sender, pair, amountB), "TRANSFER_FROM_FAILED");
        UniswapV2Pair(pair).sync();
    }

    function _pair(address a, address b) private view returns (address pair) {
        pair = UniswapV2Factory(factory).getPair(a, b);
        require(pair != address(0), "NO_PAIR");
    }

    function _reserves(address a, address b) private view returns (uint256 reserveA, uint256 reserveB) {
        UniswapV2Pair pair = UniswapV2Pair(_pair(a, b));
        (uint112 r0, uint112 r1,) = pair.getReserves();
        (reserveA, reserveB) = a == pair.token0() ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
    }
}
